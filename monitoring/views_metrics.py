"""GET /metrics: Prometheus scrapes it with METRICS_TOKEN as a bearer token, or from METRICS_ALLOWED_IPS."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from core.middleware import client_ip, error_body

from .errors_metrics import MetricsForbidden, MetricsTokenRequired
from .prometheus import exposition


def _ip_allowed(ip: str | None) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def _refusal(error: MetricsTokenRequired | MetricsForbidden) -> JsonResponse:
    response = JsonResponse(error_body(error.code, error.message), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """A bearer token must be METRICS_TOKEN (a wrong one is refused even from an allowed address);
    without one the client's address must be in METRICS_ALLOWED_IPS. Neither configured: refused."""
    header = request.headers.get("Authorization", "")
    token = settings.METRICS_TOKEN
    if header:
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not token or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return _refusal(MetricsForbidden())
    elif not _ip_allowed(client_ip(request)):
        return _refusal(MetricsTokenRequired())
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
