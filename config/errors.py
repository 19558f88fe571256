"""Django's error views (`handler400` in config.urls) for what is refused outside any view of ours.

Django answers a `SuspiciousOperation` or `BadRequest` with the 400 view wherever it is raised. A disallowed
Host is raised by the first `request.get_host()` (CommonMiddleware's), outside `core.middleware.ApiErrorMiddleware`,
so without this API and MCP clients got Django's HTML page. Nothing here reads the request beyond its path.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from core.middleware import api_error_path, bad_request_refusal, error_body
from mcp_gateway.views import is_mcp_path, refused_request


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_mcp_path(request.path) or api_error_path(request.path):
        return refusal(request.path, 400, *bad_request_refusal(exception))
    return defaults.bad_request(request, exception)


def refusal(path: str, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JsonResponse:
    """A request refused outside any view of ours, in its door's error shape: a JSON-RPC error with no id on /mcp,
    the API's error envelope elsewhere (`config.daphne` answers a head too large with it, on any path)."""
    if is_mcp_path(path):
        return refused_request(code, message, status=status, details=details)
    return JsonResponse(error_body(code, message, details), status=status)
