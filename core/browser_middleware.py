"""Django's session, authentication, OTP and messages middleware, each stepped over for a request to the API or to
MCP that carries no session cookie.

Such a request has no session to load, no staff member for the session to name and no messages to keep: an API key
or an MCP token authenticates it in the view, which sets `request.user` itself. The four still built a lazy session,
a lazy user wrapped twice and a message store (its class found by import on every request), and read them back on
the way out: ~3 % of a REST transfer's instructions for nothing. A request that carries the session cookie (a staff
member using the API from the browser, where DRF's session authentication and its CSRF check apply) goes through all
four as before, as does everything outside the API. Subclasses, so Django's checks (admin.E408-E410) still find
them in `MIDDLEWARE`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest
from django_otp import middleware as otp


def sessionless_api(request: HttpRequest) -> bool:
    """An API or MCP request without the session cookie."""
    path = request.path
    return ((path.startswith("/api/") or path == "/mcp" or path.startswith("/mcp/"))
            and settings.SESSION_COOKIE_NAME not in request.COOKIES)


class _SteppedOverForSessionlessApi:
    get_response: Any

    def __call__(self, request: HttpRequest) -> Any:
        if sessionless_api(request):
            # Under ASGI this returns the next middleware's coroutine, which Django awaits as it would ours.
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]  # the Django middleware mixed in after this one


class SessionMiddleware(_SteppedOverForSessionlessApi, sessions.SessionMiddleware):
    pass


class AuthenticationMiddleware(_SteppedOverForSessionlessApi, auth.AuthenticationMiddleware):
    pass


class OTPMiddleware(_SteppedOverForSessionlessApi, otp.OTPMiddleware):  # type: ignore[misc]  # django-otp: no types
    pass


class MessageMiddleware(_SteppedOverForSessionlessApi, messages.MessageMiddleware):
    pass
