from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per API key (staff sessions per user). Default from `API_RATE_LIMIT`; a key may override.

    A fixed window: one counter per key and window in the cache, raised with an atomic increment, so a
    check costs one cache round trip whatever the rate. (DRF's default keeps every request's time in
    the window and writes the whole list back on each call: 6,000 timestamps per request for a key
    near the default rate.) The usual fixed-window trade-off: across a window's edge a key can make up
    to twice its rate in a short span."""

    scope = "api_key"

    def allow_request(self, request, view):
        api_key = getattr(request, "auth", None)
        override = getattr(api_key, "rate_limit", "") if api_key is not None else ""
        if override:
            self.rate = override
            self.num_requests, self.duration = self.parse_rate(override)
        if self.rate is None or self.duration is None or self.num_requests is None:
            return True
        duration, limit = self.duration, self.num_requests
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // duration)
        self.window_ends = (window + 1) * duration
        counter = f"{self.key}:{window}"
        try:
            count = self.cache.incr(counter)
        except ValueError:  # the window's first request (or its counter expired)
            count = 1 if self.cache.add(counter, 1, timeout=duration + 1) else self.cache.incr(counter)
        # None: the cache is down and ignores errors (settings): requests are not refused for it.
        return count is None or count <= limit

    def wait(self):
        return max(self.window_ends - self.now, 1.0)

    def get_cache_key(self, request, view):
        api_key = getattr(request, "auth", None)
        if api_key is not None and hasattr(api_key, "prefix"):
            ident = f"key:{api_key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
