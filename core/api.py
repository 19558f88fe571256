"""The DRF exception handler: every error is `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .context import current_request_id
from .errors import DomainError

logger = logging.getLogger("core.api")

_DRF_CODES = {
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "invalid_api_key",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.ParseError: "invalid_json",
    drf.Throttled: "rate_limited",
}


def _error(code: str, message: str, details: dict[str, Any] | None, status: int,
           headers: dict[str, str] | None = None) -> Response:
    return Response({"error": {"code": code, "message": message, "details": details or {}}},
                    status=status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, DomainError):
        response = _error(exc.code, exc.message, exc.details, exc.status)
        if exc.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
    if isinstance(exc, Http404):
        return _error("not_found", "No such object.", None, 404)
    if isinstance(exc, RequestDataTooBig):
        return _error("request_too_large", "The request body is too large.", None, 413)
    if isinstance(exc, DjangoPermissionDenied):
        return _error("permission_denied", "You do not have permission to do this.", None, 403)
    if isinstance(exc, drf.ValidationError):
        return _error("validation_error", "The request has invalid fields.", {"fields": exc.detail}, 400)
    if isinstance(exc, drf.APIException):
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
        detail_codes = exc.get_codes()
        if isinstance(detail_codes, str) and detail_codes not in ("authentication_failed", "not_authenticated",
                                                                 "permission_denied", "error"):
            code = detail_codes if code in (None, "invalid_api_key", "permission_denied") else code
        headers: dict[str, str] = {}
        details: dict[str, Any] = {}
        # `wait` is set by Throttled.__init__ but missing from the DRF stubs.
        wait: float | None = exc.wait if isinstance(exc, drf.Throttled) else None  # type: ignore[attr-defined]
        if wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
            details["retry_after_seconds"] = int(wait) + 1
        auth_header = getattr(exc, "auth_header", None)  # set by DRF's views on 401s
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else "Request failed."
        return _error(code or "error", message, details, exc.status_code, headers)
    # With the request: the error log (monitoring.errorlog) names the route of its sample.
    request = {"request": context["request"]} if context.get("request") is not None else None
    if isinstance(exc, OperationalError):
        logger.error("database unavailable", exc_info=exc, extra=request)
        return _error("service_unavailable", "A required service is unavailable; retry later.",
                      {"request_id": current_request_id()}, 503)
    logger.error("unhandled API error", exc_info=exc, extra=request)
    return _error("internal_error", "An unexpected error occurred.", {"request_id": current_request_id()}, 500)
