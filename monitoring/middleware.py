"""Times every API request and hands it to the recorder by its route pattern (never its path)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from . import recorder
from .routes import API_PREFIX, rest_route


class RequestMetricsMiddleware:
    """After core.middleware.RequestContextMiddleware: latency and status of every /api/ request, in
    memory (monitoring.recorder); nothing is written to the database on the request's path.
    `MONITORING_REQUEST_METRICS = False` turns it off (read per request: the bench compares both)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        recorder.start_background_writer()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(API_PREFIX) or not settings.MONITORING_REQUEST_METRICS:
            return self.get_response(request)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            route = rest_route(request)
            if route is not None:
                recorder.observe("rest", route, (time.perf_counter() - started) * 1000, status)
