"""Capture, cancel, verify and review: guarded transitions of an existing payment.

A provider call never runs under the payment's row lock: the first transaction moves the
payment to `processing` (so a second capture or cancel is refused), the call follows, and a
second transaction applies the answer. A timeout leaves the payment `unknown` for `verify`.

So every service here is `@use_case(steps=True)`: its steps (the closures below) commit through
`run_in_transaction` one by one, around the provider call; nobody wraps the service itself.
`payment_review` is a step followed by a capture or cancel, and the expiry and settle jobs are
loops of those, each payment in its own steps.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.errors import InvalidStateTransition, ServiceUnavailable, ValidationFailed, money_details
from core.events import emit
from core.models import touch
from core.money import require_positive

from ..audit import PaymentsAction
from ..errors import CaptureExceedsAuthorised, PaymentNotCapturable
from ..events import PaymentsEvent
from ..models import Payment, PaymentAttempt
from ..providers import ProviderTimeout, ProviderUnreachable, get_provider
from . import postings
from .authorise import auth_request
from .common import CANCELED_FIELDS, apply_result, lock_payment, mark_canceled

logger = logging.getLogger("payments")
CANCELABLE = (Payment.Status.REQUIRES_PAYMENT_METHOD, Payment.Status.REQUIRES_CONFIRMATION,
              Payment.Status.REQUIRES_CAPTURE)


def _provider_step(payment_id: str, actor: Actor, call, restore_status: str, source: str) -> Payment:
    """Runs a provider call for a payment already moved to processing, then applies the answer."""
    payment = Payment.objects.get(pk=payment_id)
    try:
        result = call(get_provider(payment.provider), payment)
    except ProviderTimeout:
        def unknown():
            locked = lock_payment(payment_id)
            locked.status = Payment.Status.UNKNOWN
            touch(locked, "status")
            audit_record(action=PaymentsAction.PAYMENT_UNKNOWN, actor=actor, obj=locked, details={"source": source})
            return locked
        return run_in_transaction(unknown)
    except Exception as exc:
        # Nothing happened at the provider that we know of: put the payment back and tell the caller.
        def restore():
            locked = lock_payment(payment_id)
            locked.status = restore_status
            touch(locked, "status")
            return locked
        run_in_transaction(restore)
        if isinstance(exc, ProviderUnreachable):
            raise ServiceUnavailable(f"The provider could not be reached; nothing was done ({source}).",
                                     details={"payment_id": payment_id}) from exc
        raise

    def apply():
        locked = lock_payment(payment_id)
        if result.status == "authorised":
            # The provider still holds the authorisation: back to where we started.
            locked.status = restore_status
            touch(locked, "status")
            return locked
        apply_result(payment=locked, result=result, actor=actor, source=source)
        return locked
    return run_in_transaction(apply)


@use_case(steps=True)
def payment_capture(*, actor: Actor, payment_id: str, amount: int | None = None) -> Payment:
    def begin() -> tuple[Payment, int]:
        payment = lock_payment(payment_id)
        if payment.status != Payment.Status.REQUIRES_CAPTURE:
            raise PaymentNotCapturable(details={"status": payment.status})
        if payment.review_status == Payment.Review.PENDING:
            raise InvalidStateTransition("The payment is held for risk review; an analyst decides.",
                                         details={"status": payment.status, "review_status": "pending"})
        to_capture = payment.amount_capturable if amount is None else amount
        require_positive(to_capture, field="amount")
        if to_capture > payment.amount_capturable:
            raise CaptureExceedsAuthorised(details=money_details(
                payment.currency, amount_capturable=payment.amount_capturable, amount=to_capture))
        if payment.method == Payment.Method.WALLET:
            entry_id, _ = postings.post_capture(payment=payment, amount=to_capture, actor=actor)
            payment.status, payment.amount_captured, payment.amount_capturable = (Payment.Status.SUCCEEDED,
                                                                                  to_capture, 0)
            payment.capture_entry_id, payment.captured_at = entry_id, clock.now()
            touch(payment, "status", "amount_captured", "amount_capturable", "capture_entry_id", "captured_at")
            audit_record(action=PaymentsAction.PAYMENT_CAPTURED, actor=actor, obj=payment,
                         details={"amount": to_capture})
            emit(PaymentsEvent.PAYMENT_CAPTURED, payment, actor=actor)
            return payment, 0
        payment.status = Payment.Status.PROCESSING
        touch(payment, "status")
        audit_record(action=PaymentsAction.PAYMENT_CAPTURE_REQUESTED, actor=actor, obj=payment,
                     details={"amount": to_capture})
        return payment, to_capture

    payment, to_capture = run_in_transaction(begin)
    if not to_capture:
        return payment
    return _provider_step(payment_id, actor, lambda provider, p: provider.capture(
        reference=p.provider_reference, amount=to_capture, idempotency_key=f"{p.id}:capture"),
        Payment.Status.REQUIRES_CAPTURE, "capture")


@use_case(steps=True)
def payment_cancel(*, actor: Actor, payment_id: str, reason: str = "requested") -> Payment:
    def begin() -> tuple[Payment, bool]:
        payment = lock_payment(payment_id)
        if payment.status not in CANCELABLE:
            raise InvalidStateTransition(f"A {payment.status} payment cannot be canceled.",
                                         details={"status": payment.status})
        needs_provider = bool(payment.status == Payment.Status.REQUIRES_CAPTURE
                              and payment.method != Payment.Method.WALLET and payment.provider_reference)
        if needs_provider:
            payment.status = Payment.Status.PROCESSING
            payment.cancellation_reason = reason
            touch(payment, "status", "cancellation_reason")
            audit_record(action=PaymentsAction.PAYMENT_CANCEL_REQUESTED, actor=actor, obj=payment,
                         details={"reason": reason})
            return payment, True
        if payment.method == Payment.Method.WALLET and payment.hold_id:
            postings.wallet_release(payment=payment, actor=actor)
        mark_canceled(payment, reason=reason, now=clock.now())
        touch(payment, *CANCELED_FIELDS)
        audit_record(action=PaymentsAction.PAYMENT_CANCELED, actor=actor, obj=payment, details={"reason": reason})
        emit(PaymentsEvent.PAYMENT_CANCELED, payment, actor=actor)
        return payment, False

    payment, needs_provider = run_in_transaction(begin)
    if not needs_provider:
        return payment
    return _provider_step(payment_id, actor, lambda provider, p: provider.cancel(
        reference=p.provider_reference, idempotency_key=f"{p.id}:cancel"), Payment.Status.REQUIRES_CAPTURE, "cancel")


@use_case(steps=True)
def payment_verify(*, actor: Actor, payment_id: str) -> Payment:
    """Asks the provider where a payment stands and moves ours forward to match."""
    payment = run_in_transaction(lambda: lock_payment(payment_id))
    if payment.method == Payment.Method.WALLET or not payment.provider:
        return payment
    attempt = payment.attempts.order_by("-sequence").first()
    if attempt is None:
        return payment
    provider = get_provider(attempt.provider)
    try:
        result = provider.retrieve(reference=attempt.provider_reference or payment.provider_reference,
                                   request=auth_request(payment, attempt))
    except (ProviderTimeout, ProviderUnreachable) as exc:
        logger.warning("verify could not reach the provider", extra={"payment_id": payment_id, "error": str(exc)})
        return payment

    def apply() -> Payment:
        locked = lock_payment(payment_id)
        fresh_attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        changed = apply_result(payment=locked, result=result, actor=actor, source="verify", attempt=fresh_attempt)
        audit_record(action=PaymentsAction.PAYMENT_VERIFIED, actor=actor, obj=locked,
                     details={"provider_status": result.status, "changed": changed})
        return locked
    return run_in_transaction(apply)


@use_case(steps=True)
def payment_review(*, actor: Actor, payment_id: str, decision: str, note: str = "") -> Payment:
    """An analyst's decision on a payment held by risk: approve captures it, reject cancels it."""
    if decision not in ("approve", "reject"):
        raise ValidationFailed({"decision": ["One of approve, reject."]})

    def mark() -> Payment:
        payment = lock_payment(payment_id)
        if payment.review_status != Payment.Review.PENDING or payment.status != Payment.Status.REQUIRES_CAPTURE:
            raise InvalidStateTransition("The payment is not waiting for review.",
                                         details={"status": payment.status, "review_status": payment.review_status})
        payment.review_status = Payment.Review.APPROVED if decision == "approve" else Payment.Review.REJECTED
        payment.fraud_label = decision == "reject"  # the analyst's outcome is the model's label
        touch(payment, "review_status", "fraud_label")
        action = (PaymentsAction.PAYMENT_REVIEW_APPROVED if decision == "approve"
                  else PaymentsAction.PAYMENT_REVIEW_REJECTED)
        audit_record(action=action, actor=actor, obj=payment, details={"note": note[:500]})
        emit(PaymentsEvent.PAYMENT_REVIEW_DECIDED, payment, previous={"review_status": Payment.Review.PENDING},
             actor=actor)
        return payment

    payment = run_in_transaction(mark)
    if decision == "reject":
        return payment_cancel(actor=actor, payment_id=payment_id, reason="risk_rejected")
    if payment.capture_method == Payment.CaptureMethod.AUTOMATIC:
        return payment_capture(actor=actor, payment_id=payment_id)
    return payment


@use_case(steps=True)
def payment_expire_authorisations(*, actor: Actor) -> int:
    """Cancels authorisations not captured within PAYMENTS_AUTHORISATION_DAYS (card networks
    release them then anyway)."""
    cutoff = clock.now() - dt.timedelta(days=int(settings.PAYMENTS_AUTHORISATION_DAYS))
    ids = list(Payment.objects.filter(status=Payment.Status.REQUIRES_CAPTURE, authorised_at__lt=cutoff)
               .values_list("pk", flat=True)[:1000])
    done = 0
    for payment_id in ids:
        try:
            payment_cancel(actor=actor, payment_id=payment_id, reason="expired")
            done += 1
        except InvalidStateTransition:
            continue  # captured or canceled meanwhile: nothing to expire
    return done


@use_case(steps=True)
def payment_settle_unknown(*, actor: Actor, older_than_seconds: int = 60) -> int:
    cutoff = clock.now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(Payment.objects.filter(status__in=(Payment.Status.UNKNOWN, Payment.Status.PROCESSING),
                                      updated__lt=cutoff).values_list("pk", flat=True)[:500])
    settled = 0
    for payment_id in ids:
        payment = payment_verify(actor=actor, payment_id=payment_id)
        settled += payment.status not in (Payment.Status.UNKNOWN, Payment.Status.PROCESSING)
    return settled

