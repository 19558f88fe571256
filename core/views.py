"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger("core.health")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (any failure means not ready; it is logged)
        logger.warning("readiness: database unreachable", extra={"error": str(exc)[:200]})
        checks["database"] = "unavailable"
    try:
        from django.conf import settings

        if settings.REDIS_URL:
            from django_redis import get_redis_connection

            get_redis_connection("default").ping()
        else:
            cache.set("readyz", "1", 5)
        checks["cache"] = "ok"
    except Exception as exc:  # noqa: BLE001
        logger.warning("readiness: cache unreachable", extra={"error": str(exc)[:200]})
        checks["cache"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status=200 if ready else 503)
