"""Request context, no caching of API answers, and JSON errors for everything under /api/."""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from csp import middleware as csp_middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.db import OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from . import jsonparse, snapshots
from .cards import contains_pan
from .context import Actor, bind_context, clear_context, get_context

logger = logging.getLogger("core.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_NO_STORE_PREFIXES = ("/api/v1/", "/mcp/")


def request_id_for(incoming: str) -> str:
    """The id a request goes by: the caller's X-Request-ID (`incoming`), unless it is malformed or could be a card
    number (it is echoed, logged and stored), else a new one. The WebSocket handshake's too (`config.daphne`)."""
    return incoming if _VALID_REQUEST_ID.match(incoming) and not contains_pan(incoming) else f"req_{uuid.uuid4().hex}"


def client_ip(request: HttpRequest) -> str | None:
    ip: str | None = request.META.get("REMOTE_ADDR")
    return ip


class RequestContextMiddleware:
    """Takes or makes the request id, binds it and the client to the context, echoes it back; API
    answers say `Cache-Control: no-store`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_for(request.headers.get("X-Request-ID", ""))
        request.request_id = request_id  # type: ignore[attr-defined]  # ours, read back with getattr (logs, 500s)
        clear_context()
        bind_context(request_id=request_id, ip=client_ip(request),
                     user_agent=request.headers.get("User-Agent", "")[:400])
        try:
            with snapshots.request_scope():
                response = self.get_response(request)
        finally:
            user = getattr(request, "user", None)
            if get_context().actor is None and user is not None and getattr(user, "is_authenticated", False):
                bind_context(actor=Actor.for_user(user))
        response["X-Request-ID"] = request_id
        if request.path.startswith(_NO_STORE_PREFIXES) or request.path == "/mcp":
            # API answers carry personal data: no browser or proxy may keep them (as at Stripe, for the
            # whole API). Set here, in the outermost middleware, so every answer has it, errors too.
            response["Cache-Control"] = "no-store"
        clear_context()
        return response

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        """A session's staff member is the actor of what the view changes (admin forms, Django's auth
        admin: the audit receivers read the context). Without a session cookie this reads nothing; an
        API key or MCP token rebinds the actor when the view authenticates it."""
        user = getattr(request, "user", None)
        if get_context().actor is None and user is not None and getattr(user, "is_authenticated", False):
            bind_context(actor=Actor.for_user(user))


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def api_error_path(path: str) -> bool:
    """A path whose errors are answered in the API's error shape: /api/, but for the HTML documentation pages."""
    return path.startswith("/api/") and not path.startswith(("/api/docs", "/api/redoc"))


def bad_request_refusal(exception: Exception | None) -> tuple[str, str]:
    """The stable code and message of a request Django refused as malformed (a `SuspiciousOperation` or
    `BadRequest` raised before or in a view), in REST and MCP alike."""
    if isinstance(exception, DisallowedHost):
        return "disallowed_host", "The Host header names a host this server does not serve."
    return "bad_request", "The request is malformed."


class ApiErrorMiddleware:
    """Django's own 400/403/404/405/413 and crashes under /api/ come back in the API's error shape. Innermost of the
    middleware, it also releases a rendered DRF response's context (`release_rendered_context`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        release_rendered_context(response)
        if not api_error_path(request.path):
            return response
        content_type = response.get("Content-Type", "")
        if response.status_code in (400, 403, 404, 405, 413) and not content_type.startswith("application/json"):
            codes = {400: bad_request_refusal(None),
                     403: ("permission_denied", "You do not have permission to do this."),
                     404: ("not_found", "No such resource."),
                     405: ("method_not_allowed", f"Method {request.method} is not allowed here."),
                     413: ("request_too_large", "The request body is too large.")}
            code, message = codes[response.status_code]
            new = JsonResponse(error_body(code, message), status=response.status_code)
            if response.has_header("Allow"):
                new["Allow"] = response["Allow"]
            return new
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        request_id = getattr(request, "request_id", None)
        if isinstance(exception, OperationalError):
            logger.error("database unavailable", exc_info=exception, extra={"request": request})
            return JsonResponse(error_body("service_unavailable", "A required service is unavailable; retry later.",
                                           {"request_id": request_id}), status=503)
        logger.error("unhandled error", exc_info=exception, extra={"request": request})
        return JsonResponse(error_body("internal_error", "An unexpected error occurred.",
                                       {"request_id": request_id}), status=500)


def release_rendered_context(response: HttpResponseBase) -> None:
    """A rendered DRF response's view and request let go of each other. DRF's request keeps itself and the view in
    its parser context, the response itself in its renderer context; the view keeps the request, the response and
    (Django's `View.setup`, for a view that answers GET) a method bound to itself as `head`. Those reference cycles
    held the whole request (Django's request, the view, the authenticators, the rows read) until the collector's
    next pass: ~85 objects and ~40-50 us of collecting a transfer (`bench/collector.py`). Without them it is freed
    as the request ends. The view is made for one request (`as_view`) and nothing reads it, or either context, once
    the response is rendered (Django renders it before the middleware see it)."""
    context = getattr(response, "renderer_context", None)
    if not context or not getattr(response, "is_rendered", False):
        return
    drf_request = context.get("request")
    if drf_request is not None and isinstance(getattr(drf_request, "parser_context", None), dict):
        drf_request.parser_context.clear()
    view = context.get("view")
    if view is not None and hasattr(view, "__dict__"):
        vars(view).clear()
    response.renderer_context = None  # type: ignore[attr-defined]  # DRF's attribute


def json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = jsonparse.loads(request.body or b"{}")
    except jsonparse.InvalidJson:
        return None
    return data if isinstance(data, dict) else None


# What a view or decorator can set to change a response's policy (django-csp's own attribute names).
_CSP_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro",
                     "_csp_replace_ro")


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp's middleware, with the policy of a response nothing changes (no decorator, no nonce: every API
    answer) built once per settings instead of on every response (~0.1 ms each). Anything else, and DEBUG's
    exemptions, goes through django-csp itself."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if settings.DEBUG or isinstance(getattr(request, "_csp_nonce", None), str) \
                or any(getattr(response, name, None) is not None for name in _CSP_PER_RESPONSE):
            return super().process_response(request, response)
        for header, policy, excluded, exempt in _static_csp():
            if policy and header not in response and getattr(response, exempt, False) is False \
                    and not request.path_info.startswith(excluded):
                response[header] = policy
        if getattr(request, "_csp_nonce", None) is None:
            # As django-csp: a nonce asked for after the header is written is an error, not a silent gap.
            request.csp_nonce = csp_middleware.CheckableLazyObject(  # type: ignore[attr-defined]
                self._csp_nonce_post_response)
        return response


@functools.cache
def _static_csp() -> tuple[tuple[str, str, tuple[str, ...], str], ...]:
    """Per header: the policy, the path prefixes it leaves out, the response attribute that exempts a response."""

    def excluded(setting: str) -> tuple[str, ...]:
        return tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ())

    return ((HEADER, build_policy(), excluded("CONTENT_SECURITY_POLICY"), "_csp_exempt"),
            (HEADER_REPORT_ONLY, build_policy(report_only=True), excluded("CONTENT_SECURITY_POLICY_REPORT_ONLY"),
             "_csp_exempt_ro"))


@receiver(setting_changed)
def _forget_static_csp(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _static_csp.cache_clear()
