"""`Authorization: Bearer <API key>` for REST (and MCP, which calls `authenticate_key`)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from core.context import Actor, bind_context
from core.errors import DomainError

from .errors import InvalidApiKey
from .selectors import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Malformed Authorization header; use 'Bearer <API key>'.",
                                                  code=InvalidApiKey.code)
        try:
            api_key = api_key_authenticate(raw_key=token.strip())
        except DomainError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        _set_auditlog_actor(api_key.owner)
        # Logs and the audit recorder know the key from here on, even in views that are not operations.
        bind_context(actor=Actor.for_api_key(api_key))
        return api_key.owner, api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def _set_auditlog_actor(user) -> None:
    # The audit log middleware (core.auditlog_context) saw an anonymous user; the key's owner is the actor.
    from auditlog.context import auditlog_value

    try:
        auditlog_value.get()["actor"] = user
    except LookupError:
        pass
