"""The one domain error base. Every app's errors subclass it; every door renders it the same.

`code` is stable and documented; `message` is for people; `details` is machine-readable.
`status` is the HTTP status the REST door answers with (MCP reports the same object as an
`isError` result).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    status = 400
    default_message = "The request could not be completed."
    # True on a refusal answered again from an idempotency record (or an approval) instead of run.
    replayed = False

    def __init__(self, message: str | None = None, *, code: str | None = None, status: int | None = None,
                 details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


def money_details(currency: str, **amounts: int | None) -> dict[str, Any]:
    """Amounts for an error's `details` as every door shows money: decimal strings with the
    currency's digits next to a `currency` key (`available=2000` -> `"available": "20.00"`)."""
    from .money import format_amount  # core.money raises errors from this module

    shown = {name: None if minor is None else format_amount(minor, currency) for name, minor in amounts.items()}
    return {**shown, "currency": currency}


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 400
    default_message = "The request has invalid fields."

    def __init__(self, fields: dict[str, Any], message: str | None = None):
        super().__init__(message, details={"fields": fields})


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "No such object."


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = "You do not have permission to do this."


class InsufficientScope(DomainError):
    code = "insufficient_scope"
    status = 403
    default_message = "The API key lacks the scope this operation needs."


class InvalidStateTransition(DomainError):
    code = "invalid_state_transition"
    status = 409
    default_message = "The object is not in a state that allows this."


class Conflict(DomainError):
    code = "conflict"
    status = 409


class BusinessRefusal(DomainError):
    status = 422


class RawCardDataNotAllowed(DomainError):
    code = "raw_card_data_not_allowed"
    status = 400
    default_message = "Card numbers must not be sent to this API; use a provider token."


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    default_message = "A required service is unavailable; retry later."


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    status = 400
    default_message = "Idempotency keys are 1 to 255 printable characters."


class IdempotencyKeyReuse(DomainError):
    code = "idempotency_key_reuse"
    status = 422
    default_message = "This idempotency key was already used with a different request."


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    status = 409
    default_message = "A request with this idempotency key is still being processed."
