"""Who may talk to /mcp/: Origin allow-list, API-key bearer auth, per-key rate limits, and the
RFC 9728 protected-resource metadata that 401 answers point to."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from accounts.selectors import api_key_authenticate
from accounts.throttling import ApiKeyRateThrottle
from core.context import Actor, bind_context
from core.errors import DomainError
from core.operations import ALL_SCOPES

from .rpc import FORBIDDEN_ORIGIN, RATE_LIMITED, UNAUTHORIZED, RpcError

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_origin(request) -> None:
    """Browsers send Origin; a page on another site must not drive this endpoint (DNS rebinding).
    Loopback origins on any port are allowed, plus `MCP_ALLOWED_ORIGINS`."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    allowed = {o.rstrip("/") for o in getattr(settings, "MCP_ALLOWED_ORIGINS", [])}
    if origin.rstrip("/") in allowed:
        return
    try:
        parts = urlsplit(origin)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and _is_loopback_host(host):
        return
    raise RpcError(FORBIDDEN_ORIGIN, "Origin not allowed.", http_status=403)


def metadata_url(request) -> str:
    return request.build_absolute_uri("/.well-known/oauth-protected-resource/mcp/")


def _challenge(request, error: str | None = None, description: str | None = None) -> str:
    parts = [f'resource_metadata="{metadata_url(request)}"', f'scope="{" ".join(s for s in ALL_SCOPES)}"']
    if error:
        parts.insert(0, f'error="{error}"')
        if description:
            parts.insert(1, f'error_description="{description}"')
    return "Bearer " + ", ".join(parts)


def _unauthorized(request, code: str, message: str, error: str | None = None) -> RpcError:
    return RpcError(UNAUTHORIZED, message, {"code": code}, http_status=401,
                    headers={"WWW-Authenticate": _challenge(request, error, message if error else None)})


def authenticate(request) -> Actor | None:
    """The acting API key, or None where authentication is switched off (conformance runs
    on loopback only; production settings refuse the switch)."""
    header = request.headers.get("Authorization", "")
    if not header:
        if getattr(settings, "MCP_AUTH_DISABLED", False) and _is_loopback_host(request.META.get("REMOTE_ADDR")):
            return None
        raise _unauthorized(request, "not_authenticated", "Send Authorization: Bearer <API key>.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(request, "invalid_api_key", "Malformed Authorization header; use Bearer <API key>.",
                            "invalid_request")
    try:
        api_key = api_key_authenticate(raw_key=token.strip())
    except DomainError as exc:
        raise _unauthorized(request, exc.code, exc.message, "invalid_token") from None
    actor = Actor.for_api_key(api_key)
    bind_context(actor=actor)
    return actor


def check_rate(request, actor: Actor | None) -> None:
    """The same per-key budget as REST (`ApiKeyRateThrottle`), so a key cannot double it by
    switching doors."""
    if actor is None:
        return
    request.auth, request.user = actor.api_key, actor.user
    throttle = ApiKeyRateThrottle()
    if throttle.allow_request(request, None):
        return
    wait = throttle.wait()
    retry_after = str(int(wait) + 1 if wait is not None else 1)
    raise RpcError(RATE_LIMITED, "Rate limit exceeded for this API key.",
                   {"code": "rate_limited", "retry_after_seconds": int(retry_after)}, http_status=429,
                   headers={"Retry-After": retry_after})


@require_GET
def protected_resource_metadata(request):
    """RFC 9728 document. API keys are issued by staff in the admin; the authorization server
    named here is this site, which has no OAuth flow: clients must be configured with the key."""
    origin = request.build_absolute_uri("/").rstrip("/")
    return JsonResponse({
        "resource": request.build_absolute_uri("/mcp/"),
        "authorization_servers": [origin],
        "scopes_supported": list(ALL_SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "Payments back-office MCP",
        "resource_documentation": request.build_absolute_uri("/api/docs/"),
    })
