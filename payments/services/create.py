"""Creating (and confirming) a payment: validate, score risk, then try providers in the order
routing chooses, failing over only when nothing can have been charged.

Steps commit separately (the attempt row before the provider call, its outcome after), so a
crash mid-way leaves an attempt that `verify` can settle, never a charge we don't know about.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from django.conf import settings

from accounts.selectors import customer_get
from core import clock
from core.audit import audit_record
from core.cards import refuse_card_data
from core.context import Actor
from core.db import run_in_transaction
from core.errors import ValidationFailed
from core.money import MAX_MINOR_UNITS, AmountNotPositive, InvalidAmount, normalize_currency
from wallets import selectors as wallet_selectors
from wallets.errors import WalletFrozen

from .. import routing
from ..errors import CurrencyMismatch, NoProviderAvailable
from ..models import Payment, PaymentAttempt
from ..providers import AuthRequest, ProviderTimeout, ProviderUnreachable, get_provider
from ..risk import RiskContext, RiskResult, score_payment
from . import postings
from .common import apply_result, attempt_status, lock_payment, record_attempt_outcome, save, stamp_actor

logger = logging.getLogger("payments")
CHANNELS = ("web", "app", "pos", "moto")


def _validate(*, amount: Any, method: str, capture_method: str, payment_method: str, channel: str,
              metadata: dict | None) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(details={"field": "amount"})
    if amount <= 0:
        raise AmountNotPositive(details={"field": "amount"})
    if amount > MAX_MINOR_UNITS:
        raise InvalidAmount("The amount is too large.", details={"field": "amount"})
    errors = {}
    if method not in Payment.Method.values:
        errors["method"] = [f"One of {', '.join(Payment.Method.values)}."]
    if capture_method not in Payment.CaptureMethod.values:
        errors["capture_method"] = ["One of automatic, manual."]
    if not payment_method or len(payment_method) > 64:
        errors["payment_method"] = ["A provider token (or a wal_ id for wallet payments) is required."]
    if channel and channel not in CHANNELS:
        errors["channel"] = [f"One of {', '.join(CHANNELS)}."]
    if metadata is not None and not isinstance(metadata, dict):
        errors["metadata"] = ["An object of string keys and scalar values."]
    if errors:
        raise ValidationFailed(errors)


def _checked_input(*, amount: Any, currency: str, method: str, capture_method: str, payment_method: str,
                   description: str, metadata: dict | None, device_id: str = "", channel: str = "",
                   merchant_reference: str = "") -> str:
    """Refuses card data and bad input (raises); returns the normalized currency."""
    refuse_card_data({"payment_method": payment_method, "description": description, "metadata": metadata or {},
                      "device_id": device_id, "merchant_reference": merchant_reference})
    currency = normalize_currency(currency)
    _validate(amount=amount, method=method, capture_method=capture_method, payment_method=payment_method,
              channel=channel, metadata=metadata)
    return currency


def new_payment(*, actor: Actor, customer, risk: RiskResult, now, **fields) -> Payment:
    """The unsaved payment with its risk verdict: held for review, or failed at once when blocked."""
    payment = Payment(
        customer=customer, **fields, risk_score=risk.score, risk_level=risk.level, risk_decision=risk.decision,
        risk_model_version=risk.model_version, risk_reasons=risk.reasons, risk_explanation=risk.explanation,
        risk_rules_fired=risk.rules_fired,
        review_status=Payment.Review.PENDING if risk.decision == "review" else Payment.Review.NONE,
        created=now, updated=now)
    stamp_actor(payment, actor)
    if risk.decision == "block":
        payment.status = Payment.Status.FAILED
        payment.failure_code = "blocked_by_risk"
        payment.failure_message = "The payment was blocked by risk rules."
    return payment


def created_details(payment: Payment) -> dict:
    """The details of a payment's `payment.created` audit event."""
    return {"amount": payment.amount, "currency": payment.currency, "risk": payment.risk_decision}


def payment_create(*, actor: Actor, customer_id: str, amount: int, currency: str, method: str,
                   payment_method: str, capture_method: str = "automatic", description: str = "",
                   metadata: dict | None = None, wallet_id: str | None = None, device_id: str = "",
                   ip_address: str | None = None, channel: str = "", merchant_reference: str = "",
                   ip_country: str = "") -> Payment:
    """Creates and confirms a payment. A decline is a normal return (status failed, failure_code);
    only bad input raises."""
    currency = _checked_input(amount=amount, currency=currency, method=method, capture_method=capture_method,
                              payment_method=payment_method, description=description, metadata=metadata,
                              device_id=device_id, channel=channel, merchant_reference=merchant_reference)
    customer = customer_get(customer_id=customer_id)
    if wallet_id:
        wallet = wallet_selectors.wallet_get(wallet_id=wallet_id)
        if method == Payment.Method.WALLET:
            raise ValidationFailed({"method": ["A wallet cannot be topped up from a wallet."]})
        if wallet.status != "active":
            raise WalletFrozen(details={"wallet_id": wallet.id, "status": wallet.status})
        if wallet.currency != currency:
            raise CurrencyMismatch(f"The wallet holds {wallet.currency}.",
                                   details={"wallet_currency": wallet.currency, "currency": currency})
        if wallet.customer_id != customer.id:
            raise ValidationFailed({"customer_id": ["The wallet belongs to another customer."]})
    if method == Payment.Method.WALLET:
        source = wallet_selectors.wallet_get(wallet_id=payment_method)
        if source.customer_id != customer.id:
            raise ValidationFailed({"payment_method": ["The wallet belongs to another customer."]})
        if source.currency != currency:
            raise CurrencyMismatch(f"The wallet holds {source.currency}.",
                                   details={"wallet_currency": source.currency, "currency": currency})
    risk = score_payment(RiskContext(
        customer_id=customer.id, customer_status=customer.status, amount=amount, currency=currency, method=method,
        channel=channel, device_id=device_id, ip_address=ip_address, merchant_reference=merchant_reference,
        metadata=metadata or {}, ip_country=ip_country, payment_method=payment_method))

    def create_row() -> Payment:
        payment = new_payment(
            actor=actor, customer=customer, risk=risk, now=clock.now(), amount=amount, currency=currency,
            method=method, payment_method=payment_method, capture_method=capture_method, description=description,
            metadata=metadata or {}, device_id=device_id, ip_address=ip_address or None, channel=channel,
            merchant_reference=merchant_reference, wallet_id=wallet_id or "", ip_country=ip_country)
        payment.save(force_insert=True)
        audit_record(action="payment.created", actor=actor, obj=payment, details=created_details(payment))
        return payment

    payment = run_in_transaction(create_row)
    if payment.status == Payment.Status.FAILED:
        return payment
    if method == Payment.Method.WALLET:
        return run_in_transaction(lambda: _wallet_authorise(payment.id, actor))
    return _authorise_with_routing(payment, actor)


def _wallet_authorise(payment_id: str, actor: Actor) -> Payment:
    from core.errors import DomainError

    payment = lock_payment(payment_id)
    payment.provider = postings.WALLET_PROVIDER
    try:
        payment.hold_id = postings.wallet_reserve(payment=payment, actor=actor)
    except DomainError as exc:
        if exc.status not in (409, 422):
            raise
        # Frozen wallet, limit or funds: a decline of this payment, not bad input.
        payment.status, payment.failure_code, payment.failure_message = Payment.Status.FAILED, exc.code, exc.message
        save(payment, "provider", "status", "failure_code", "failure_message")
        audit_record(action="payment.failed", actor=actor, obj=payment, details={"failure_code": exc.code})
        return payment
    payment.status, payment.amount_capturable, payment.authorised_at = (Payment.Status.REQUIRES_CAPTURE,
                                                                         payment.amount, clock.now())
    save(payment, "provider", "hold_id", "status", "amount_capturable", "authorised_at")
    if payment.capture_method == Payment.CaptureMethod.AUTOMATIC and payment.review_status != Payment.Review.PENDING:
        entry_id, _ = postings.post_capture(payment=payment, amount=payment.amount, actor=actor)
        payment.status, payment.amount_captured, payment.amount_capturable = Payment.Status.SUCCEEDED, payment.amount, 0
        payment.capture_entry_id, payment.captured_at = entry_id, clock.now()
        save(payment, "status", "amount_captured", "amount_capturable", "capture_entry_id", "captured_at")
    audit_record(action=f"payment.{payment.status}", actor=actor, obj=payment, details={"source": "wallet"})
    return payment


def auth_request(payment: Payment, attempt: PaymentAttempt) -> AuthRequest:
    capture = (payment.capture_method == Payment.CaptureMethod.AUTOMATIC
               and payment.review_status != Payment.Review.PENDING)
    return AuthRequest(attempt_id=attempt.id, payment_id=payment.id, amount=payment.amount, currency=payment.currency,
                       method=payment.method, payment_method=payment.payment_method, capture=capture,
                       description=payment.description, customer_id=payment.customer_id)


def _start_attempt(payment_id: str, sequence: int, decision: routing.Decision) -> tuple[Payment, PaymentAttempt]:
    payment = lock_payment(payment_id)
    attempt = PaymentAttempt(payment=payment, sequence=sequence, provider=decision.provider, reason=decision.reason,
                             created=clock.now())
    attempt.save(force_insert=True)
    payment.status, payment.provider = Payment.Status.PROCESSING, decision.provider
    save(payment, "status", "provider")
    return payment, attempt


def _fail(payment_id: str, actor: Actor, code: str, message: str) -> Payment:
    payment = lock_payment(payment_id)
    payment.status, payment.failure_code, payment.failure_message = Payment.Status.FAILED, code, message[:300]
    save(payment, "status", "failure_code", "failure_message")
    audit_record(action="payment.failed", actor=actor, obj=payment, details={"failure_code": code})
    return payment


def _mark_unknown(payment_id: str, attempt: PaymentAttempt, latency_ms: int, actor: Actor, why: str) -> Payment:
    payment = lock_payment(payment_id)
    record_attempt_outcome(attempt=attempt, status=PaymentAttempt.Status.UNKNOWN, latency_ms=latency_ms,
                           currency=payment.currency, decline_message=why)
    payment.status = Payment.Status.UNKNOWN
    save(payment, "status")
    audit_record(action="payment.unknown", actor=actor, obj=payment, details={"attempt": attempt.id})
    return payment


def _authorise_with_routing(payment: Payment, actor: Actor, *, first_sequence: int = 1,
                            tried: list[str] | None = None, last: tuple[str, str] | None = None) -> Payment:
    """`first_sequence`, `tried`, `last`: where a caller that made the first attempts itself (the batch
    path) hands over, so failover continues exactly as if this loop had made them."""
    payment_id, currency = payment.id, payment.currency
    tried = list(tried or [])
    last_code, last_message = last or ("provider_unavailable", "No provider could be reached.")
    for sequence in range(first_sequence, int(settings.PAYMENTS_MAX_ATTEMPTS) + 1):
        try:
            decision = routing.choose(currency=currency, method=payment.method, exclude=tuple(tried))
        except NoProviderAvailable as exc:
            if not tried:
                return run_in_transaction(partial(_fail, payment_id, actor, exc.code, exc.message))
            break
        current, attempt = run_in_transaction(partial(_start_attempt, payment_id, sequence, decision))
        started = time.monotonic()
        try:
            result = get_provider(decision.provider).authorise(auth_request(current, attempt))
        except ProviderUnreachable as exc:
            run_in_transaction(partial(record_attempt_outcome, attempt=attempt,
                                       status=PaymentAttempt.Status.UNREACHABLE, latency_ms=_since(started),
                                       currency=currency,
                                       decline_code="provider_unavailable", decline_message=str(exc)))
            tried.append(decision.provider)
            continue
        except ProviderTimeout as exc:
            return run_in_transaction(partial(_mark_unknown, payment_id, attempt, _since(started), actor, str(exc)))
        except Exception as exc:
            # Whatever went wrong, the provider may have acted: unknown until verified. Returned, not
            # raised, so the caller's idempotency record keeps this answer and a retry cannot charge again.
            logger.exception("provider call failed", extra={"payment_id": payment_id, "provider": decision.provider})
            return run_in_transaction(partial(_mark_unknown, payment_id, attempt, _since(started), actor,
                                              f"{type(exc).__name__}: {exc}"))
        if result.status == "declined" and result.retriable:
            run_in_transaction(partial(record_attempt_outcome, attempt=attempt, status=PaymentAttempt.Status.DECLINED,
                                       latency_ms=_since(started), currency=currency,
                                       decline_code=result.decline_code, decline_message=result.decline_message,
                                       reference=result.reference))
            tried.append(decision.provider)
            last_code, last_message = result.decline_code, result.decline_message
            continue
        return run_in_transaction(partial(_settle, payment_id, attempt, _since(started), result, actor))
    return run_in_transaction(partial(_fail, payment_id, actor, last_code, last_message))


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _settle(payment_id: str, attempt: PaymentAttempt, latency_ms: int, result, actor: Actor) -> Payment:
    payment = lock_payment(payment_id)
    status = attempt_status(result)
    record_attempt_outcome(attempt=attempt, status=status, latency_ms=latency_ms, currency=payment.currency,
                           decline_code=result.decline_code, decline_message=result.decline_message,
                           reference=result.reference)
    if status == PaymentAttempt.Status.UNKNOWN and result.status != "processing":
        payment.status = Payment.Status.UNKNOWN
        save(payment, "status")
        return payment
    apply_result(payment=payment, result=result, actor=actor, source="authorise")
    return payment
