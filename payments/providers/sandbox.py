"""The built-in sandbox provider: deterministic by token, with optional simulated latency and
failure rates so several named sandboxes can behave differently in routing simulations.

Its own side of the story (what it authorised, captured, refunded) lives in `SandboxCharge`
rows, so `retrieve` and reconciliation ask it rather than our payment rows. Its `atomic` blocks
are the provider's own transactions (a real provider commits on its side), not use cases of
ours: our services call it between their steps, outside any transaction of theirs.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.db import transaction

from .base import AuthRequest, CardDetails, Provider, ProviderResult, ProviderTimeout, ProviderUnreachable, RefundResult

TOKENS: dict[str, dict[str, Any]] = {
    "tok_visa": {"card": CardDetails("visa", "US", "4242")},
    "tok_mastercard": {"card": CardDetails("mastercard", "US", "4444")},
    "tok_decline_generic": {"card": CardDetails("visa", "US", "0002"), "decline": "card_declined"},
    "tok_decline_insufficient_funds": {"card": CardDetails("visa", "US", "9995"), "decline": "insufficient_funds"},
    "tok_decline_expired": {"card": CardDetails("visa", "US", "0069"), "decline": "expired_card"},
    "tok_timeout": {"card": CardDetails("visa", "US", "0341"), "timeout": True},
    # Asynchronous methods answer `processing`; the money arrives later (verify or the settle job sees it).
    "tok_bank_transfer": {"methods": ("bank_transfer",), "async": True},
    "tok_upi": {"methods": ("upi",)},
}
DECLINE_MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "processing_error": "The provider could not process the payment; try again.",
    "invalid_payment_method": "Unknown payment method token.",
}


class SandboxProvider(Provider):
    """Options: approval_rate (0-1, random `processing_error` declines), timeout_rate,
    unreachable_rate, latency_ms, seed, methods, currencies."""

    kind = "sandbox"

    def __init__(self, name: str, **options: Any):
        super().__init__(name, **options)
        self.rng = random.Random(options.get("seed"))

    def supports(self, *, method: str, currency: str) -> bool:
        methods = self.options.get("methods", ("card", "bank_transfer", "upi"))
        currencies = self.options.get("currencies")
        return method in methods and (not currencies or currency in currencies)

    def card_details(self, token: str) -> CardDetails:
        return TOKENS.get(token, {}).get("card", CardDetails())

    def _reference(self, attempt_id: str) -> str:
        return f"sbx_{attempt_id}"

    def _simulate(self) -> str | None:
        latency = self.options.get("latency_ms", 0)
        if latency:
            time.sleep(latency / 1000)
        draw = self.rng.random()
        if draw < self.options.get("unreachable_rate", 0.0):
            return "unreachable"
        if draw < self.options.get("unreachable_rate", 0.0) + self.options.get("timeout_rate", 0.0):
            return "timeout"
        if self.rng.random() >= self.options.get("approval_rate", 1.0):
            return "decline"
        return None

    def _decide(self, request: AuthRequest) -> ProviderResult:
        spec = TOKENS.get(request.payment_method)
        card = self.card_details(request.payment_method)
        reference = self._reference(request.attempt_id)
        if spec is None or request.method not in spec.get("methods", ("card",)):
            code = "invalid_payment_method"
            return ProviderResult("declined", reference, decline_code=code, decline_message=DECLINE_MESSAGES[code],
                                  card=card)
        if spec.get("decline"):
            code = spec["decline"]
            return ProviderResult("declined", reference, decline_code=code, decline_message=DECLINE_MESSAGES[code],
                                  card=card)
        if spec.get("async"):
            return ProviderResult("processing", reference, card=card)
        return ProviderResult("captured" if request.capture else "authorised", reference,
                              amount_authorised=request.amount,
                              amount_captured=request.amount if request.capture else 0, card=card)

    def _answer(self, request: AuthRequest):
        """(result or the exception to raise, the SandboxCharge to record or None)."""
        from ..models_sandbox import SandboxCharge

        simulated = self._simulate()
        if simulated == "unreachable":
            return ProviderUnreachable(f"{self.name}: connection refused (simulated)"), None
        if simulated == "decline":
            code = "processing_error"
            return ProviderResult("declined", self._reference(request.attempt_id), decline_code=code,
                                  decline_message=DECLINE_MESSAGES[code],
                                  card=self.card_details(request.payment_method)), None
        result = self._decide(request)
        settled = result
        if result.status == "processing":
            settled = ProviderResult("captured", result.reference, amount_authorised=request.amount,
                                     amount_captured=request.amount)
        record = SandboxCharge(reference=result.reference, provider=self.name, amount=request.amount,
                               currency=request.currency, status=settled.status,
                               amount_authorised=settled.amount_authorised, amount_captured=settled.amount_captured,
                               decline_code=settled.decline_code)
        if simulated == "timeout" or TOKENS.get(request.payment_method, {}).get("timeout"):
            return ProviderTimeout(f"{self.name}: read timed out (simulated)"), record
        return result, record

    def _record(self, records) -> None:
        from ..models_sandbox import SandboxCharge

        # INSERT ... ON CONFLICT DO NOTHING: a repeated attempt id keeps the first record, as a
        # provider's idempotency key would, in one round trip instead of a select, savepoint and insert.
        SandboxCharge.objects.bulk_create([r for r in records if r is not None], ignore_conflicts=True)

    def authorise(self, request: AuthRequest) -> ProviderResult:
        answer, record = self._answer(request)
        self._record([record])
        if isinstance(answer, Exception):
            raise answer
        return answer

    def authorise_many(self, requests: list[AuthRequest]) -> list[ProviderResult | Exception]:
        # One insert (one commit) records the whole batch, as a provider's batch endpoint would.
        answers = [self._answer(request) for request in requests]
        self._record([record for _, record in answers])
        return [answer for answer, _ in answers]

    def capture(self, *, reference: str, amount: int, idempotency_key: str) -> ProviderResult:
        from ..models_sandbox import SandboxCharge

        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().filter(reference=reference).first()
            if charge is None:
                return ProviderResult("not_found", reference)
            if charge.status == "authorised":
                charge.status, charge.amount_captured = "captured", amount
                charge.save(update_fields=["status", "amount_captured"])
        return charge.as_result()

    def cancel(self, *, reference: str, idempotency_key: str) -> ProviderResult:
        from ..models_sandbox import SandboxCharge

        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().filter(reference=reference).first()
            if charge is None:
                return ProviderResult("not_found", reference)
            if charge.status == "authorised":
                charge.status = "canceled"
                charge.save(update_fields=["status"])
        return charge.as_result()

    def refund(self, *, reference: str, amount: int, refund_id: str, reason: str) -> RefundResult:
        from django.db.models import F

        from ..models_sandbox import SandboxCharge

        with transaction.atomic():
            updated = SandboxCharge.objects.filter(
                reference=reference, amount_refunded__lte=F("amount_captured") - amount,
            ).update(amount_refunded=F("amount_refunded") + amount)
        if not updated:
            return RefundResult("failed", failure_reason="charge_not_refundable")
        return RefundResult("succeeded", reference=f"sbxre_{refund_id}")

    def retrieve(self, *, reference: str, request: AuthRequest) -> ProviderResult:
        from ..models_sandbox import SandboxCharge

        charge = SandboxCharge.objects.filter(reference=reference or self._reference(request.attempt_id)).first()
        if charge is None:
            return ProviderResult("not_found", reference)
        return charge.as_result(card=self.card_details(request.payment_method))
