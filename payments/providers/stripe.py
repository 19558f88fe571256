"""Stripe through the official SDK: PaymentIntents (create+confirm, capture, cancel, retrieve)
and Refunds. The attempt id is Stripe's idempotency key on every write and network retries are
off, so a retry after a read timeout can never charge twice; `retrieve` of an attempt whose
answer never came replays the create with the same key, which returns the original intent.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import stripe
import urllib3

from .base import (
    AuthRequest,
    CardDetails,
    Provider,
    ProviderResult,
    ProviderTimeout,
    ProviderUnreachable,
    RefundResult,
    WebhookPayload,
)

_PI_STATUS: dict[str | None, str] = {
    "requires_capture": "authorised",
    "succeeded": "captured",
    "processing": "processing",
    "canceled": "canceled",
    "requires_payment_method": "declined",
    "requires_action": "declined",
    "requires_confirmation": "declined",
}


def _connection_error(exc: stripe.APIConnectionError) -> Exception:
    """Never reached Stripe (refused, DNS, connect timeout) vs. may have reached it."""
    cause = exc.__cause__
    never_reached = isinstance(cause, requests.exceptions.ConnectTimeout) or (
        isinstance(cause, requests.exceptions.ConnectionError)
        and isinstance(getattr(cause.args[0] if cause.args else None, "reason", None),
                       urllib3.exceptions.NewConnectionError))
    if never_reached:
        return ProviderUnreachable(str(cause))
    return ProviderTimeout(str(cause or exc))


class StripeProvider(Provider):
    """Options: api_key / api_key_env, webhook_secret / webhook_secret_env, api_base, timeout."""

    kind = "stripe"

    def __init__(self, name: str, **options: Any):
        super().__init__(name, **options)
        api_key = options.get("api_key") or os.environ.get(options.get("api_key_env", "STRIPE_API_KEY"), "")
        http_client = stripe.RequestsClient(timeout=float(options.get("timeout", 30)))
        base = options.get("api_base")
        self.client = stripe.StripeClient(api_key, base_addresses={"api": base} if base else None,
                                          max_network_retries=0, http_client=http_client)

    @property
    def webhook_secret(self) -> str:
        return self.options.get("webhook_secret") or os.environ.get(
            self.options.get("webhook_secret_env", "STRIPE_WEBHOOK_SECRET"), "")

    def supports(self, *, method: str, currency: str) -> bool:
        currencies = self.options.get("currencies")
        return method == "card" and (not currencies or currency in currencies)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.APIConnectionError as exc:
            raise _connection_error(exc) from exc

    @staticmethod
    def _result(pi: Any, card: CardDetails | None = None) -> ProviderResult:
        data = pi.to_dict() if hasattr(pi, "to_dict") else dict(pi)
        status = _PI_STATUS.get(data.get("status"), "processing")
        error = data.get("last_payment_error") or {}
        amount = int(data.get("amount") or 0)
        captured = int(data.get("amount_received") or 0)
        authorised = amount if status in ("authorised", "captured") else 0
        if status == "authorised":
            authorised = int(data.get("amount_capturable") or amount)
        decline_code = decline_message = ""
        if status == "declined":
            fallback = "authentication_required" if data.get("status") == "requires_action" else "card_declined"
            decline_code = error.get("decline_code") or error.get("code") or fallback
            decline_message = (error.get("message") or "")[:300]
        return ProviderResult(status, data.get("id", ""), amount_authorised=authorised, amount_captured=captured,
                              decline_code=decline_code, decline_message=decline_message,
                              card=card or CardDetails(), raw=data)

    def _create_params(self, request: AuthRequest) -> dict:
        return {
            "amount": request.amount, "currency": request.currency.lower(), "payment_method": request.payment_method,
            "confirm": True, "capture_method": "automatic" if request.capture else "manual",
            "payment_method_types": ["card"], "description": request.description[:350],
            "metadata": {"payment_id": request.payment_id, "attempt_id": request.attempt_id},
        }

    def authorise(self, request: AuthRequest) -> ProviderResult:
        try:
            pi = self._call(self.client.v1.payment_intents.create, self._create_params(request),
                            {"idempotency_key": request.attempt_id})
        except stripe.CardError as exc:
            body: dict[str, Any] = exc.json_body or {}  # type: ignore[assignment]  # stripe types the parsed JSON as object
            error = body.get("error", {})
            intent = error.get("payment_intent") or {}
            return ProviderResult("declined", intent.get("id", ""),
                                  decline_code=error.get("decline_code") or error.get("code") or "card_declined",
                                  decline_message=error.get("message", "")[:300], raw=body)
        except stripe.RateLimitError as exc:
            # Refused before any processing: a definite, retriable decline.
            return ProviderResult("declined", "", decline_code="processing_error",
                                  decline_message=str(exc.user_message or exc)[:300])
        except stripe.AuthenticationError as exc:
            # Our key was refused, so nothing was processed; another provider may serve the payment.
            raise ProviderUnreachable(f"{self.name}: authentication failed") from exc
        except stripe.APIError as exc:
            # A server error or an unreadable answer: it may have been processed. Unknown, not declined.
            raise ProviderTimeout(f"{self.name}: {exc}") from exc
        return self._result(pi)

    def capture(self, *, reference: str, amount: int, idempotency_key: str) -> ProviderResult:
        try:
            pi = self._call(self.client.v1.payment_intents.capture, reference, {"amount_to_capture": amount},
                            {"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError:
            # Refused because the intent moved on (expired, canceled, captured elsewhere): its state says how.
            return self._current(reference)
        return self._result(pi)

    def cancel(self, *, reference: str, idempotency_key: str) -> ProviderResult:
        try:
            pi = self._call(self.client.v1.payment_intents.cancel, reference, None,
                            {"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError:
            return self._current(reference)
        return self._result(pi)

    def _current(self, reference: str) -> ProviderResult:
        try:
            return self._result(self._call(self.client.v1.payment_intents.retrieve, reference))
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return ProviderResult("not_found", reference)
            raise

    def refund(self, *, reference: str, amount: int, refund_id: str, reason: str) -> RefundResult:
        params: dict[str, Any] = {"payment_intent": reference, "amount": amount, "metadata": {"refund_id": refund_id}}
        if reason in ("duplicate", "fraudulent", "requested_by_customer"):
            params["reason"] = reason
        try:
            refund = self._call(self.client.v1.refunds.create, params, {"idempotency_key": refund_id}).to_dict()
        except stripe.InvalidRequestError as exc:
            return RefundResult("failed", failure_reason=(exc.code or "invalid_request")[:120])
        status = refund.get("status")
        if status == "succeeded":
            return RefundResult("succeeded", refund.get("id", ""))
        if status in ("failed", "canceled"):
            return RefundResult("failed", refund.get("id", ""), refund.get("failure_reason") or status)
        return RefundResult("pending", refund.get("id", ""))

    def retrieve(self, *, reference: str, request: AuthRequest) -> ProviderResult:
        if reference:
            return self._current(reference)
        # The create's answer never came: the same idempotency key returns what Stripe did.
        return self.authorise(request)

    def result_from_object(self, obj: dict[str, Any]) -> ProviderResult:
        return self._result(obj)

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookPayload:
        """Raises stripe.SignatureVerificationError (bad or stale) or ValueError (not JSON)."""
        event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret, tolerance=300)
        data = event.to_dict()
        return WebhookPayload(event_id=data["id"], type=data.get("type", ""), created=int(data.get("created") or 0),
                              object=(data.get("data") or {}).get("object") or {}, raw=data)
