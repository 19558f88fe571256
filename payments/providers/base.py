"""The one provider interface: authorise, capture, cancel, refund, retrieve, parse webhook.

Outcomes are values, not exceptions, with one exception type per way a call can end without
an answer: `ProviderUnreachable` (the request never reached the provider: safe to fail over)
and `ProviderTimeout` (it may have reached it: the outcome is unknown, never charge again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ProviderUnreachable(Exception):
    """The connection never reached the provider; nothing can have happened there."""


class ProviderTimeout(Exception):
    """The request may have reached the provider; its outcome is unknown."""


# Declines worth trying again at another provider (technical, not the card's fault).
RETRIABLE_DECLINES = frozenset({"processing_error", "issuer_unavailable", "try_again_later", "provider_unavailable"})


@dataclass(frozen=True)
class CardDetails:
    brand: str = ""
    country: str = ""
    last4: str = ""


@dataclass(frozen=True)
class AuthRequest:
    attempt_id: str  # also the provider-side idempotency key
    payment_id: str
    amount: int
    currency: str
    method: str
    payment_method: str
    capture: bool  # capture at once (automatic) or only authorise (manual / risk review)
    description: str = ""
    customer_id: str = ""


@dataclass(frozen=True)
class ProviderResult:
    """A provider's definite answer about a payment."""

    status: str  # "authorised", "captured", "declined", "canceled", "processing", "not_found"
    reference: str = ""
    amount_authorised: int = 0
    amount_captured: int = 0
    decline_code: str = ""
    decline_message: str = ""
    card: CardDetails = field(default_factory=CardDetails)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def retriable(self) -> bool:
        return self.status == "declined" and self.decline_code in RETRIABLE_DECLINES


@dataclass(frozen=True)
class RefundResult:
    status: str  # "succeeded", "pending", "failed"
    reference: str = ""
    failure_reason: str = ""


@dataclass(frozen=True)
class WebhookPayload:
    event_id: str
    type: str
    created: int
    object: dict[str, Any]
    raw: dict[str, Any]


class Provider:
    """Base class; one instance per configured provider name."""

    kind = "abstract"

    def __init__(self, name: str, **options: Any):
        self.name = name
        self.options = options

    def supports(self, *, method: str, currency: str) -> bool:
        return method == "card"

    def card_details(self, token: str) -> CardDetails:
        return CardDetails()

    def authorise(self, request: AuthRequest) -> ProviderResult:
        raise NotImplementedError

    def authorise_many(self, requests: list[AuthRequest]) -> list[ProviderResult | Exception]:
        """`authorise` for each request, in order, with the exception a request raised returned in
        its place (the caller treats it exactly as the exception of a single call). A provider
        that can answer many requests more cheaply than one by one overrides this."""
        answers: list[ProviderResult | Exception] = []
        for request in requests:
            try:
                answers.append(self.authorise(request))
            except Exception as exc:  # noqa: BLE001 - returned in its place; the caller handles it
                answers.append(exc)
        return answers

    def capture(self, *, reference: str, amount: int, idempotency_key: str) -> ProviderResult:
        raise NotImplementedError

    def cancel(self, *, reference: str, idempotency_key: str) -> ProviderResult:
        raise NotImplementedError

    def refund(self, *, reference: str, amount: int, refund_id: str, reason: str) -> RefundResult:
        raise NotImplementedError

    def retrieve(self, *, reference: str, request: AuthRequest) -> ProviderResult:
        """The provider's current state of a payment; `request` replays an attempt whose
        reference never came back (safe: the attempt id is the idempotency key)."""
        raise NotImplementedError

    def result_from_object(self, obj: dict[str, Any]) -> ProviderResult:
        """The provider's payment object (as sent in a webhook) as a result."""
        raise NotImplementedError(f"{self.name} sends no webhooks.")

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookPayload:
        raise NotImplementedError(f"{self.name} sends no webhooks.")
