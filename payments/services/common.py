"""Shared pieces of the payment services: locking, applying a provider's answer (rows are stamped
and touched with core.models' `stamp` and `touch`)."""

from __future__ import annotations

from core import clock, heldrows
from core.audit import audit_build, audit_record
from core.context import Actor
from core.db import require_transaction, update_locked_rows_later
from core.events import build, emit
from core.ids import fetch_by_public_id
from core.models import touch

from .. import routing
from ..audit import PaymentsAction
from ..events import PaymentsEvent
from ..models import Payment, PaymentAttempt
from ..providers import ProviderResult
from . import postings

# The audit action of each status a payment moves to (declared in payments/audit.py).
STATUS_ACTIONS: dict[str, PaymentsAction] = {
    Payment.Status.REQUIRES_PAYMENT_METHOD: PaymentsAction.PAYMENT_REQUIRES_PAYMENT_METHOD,
    Payment.Status.REQUIRES_CONFIRMATION: PaymentsAction.PAYMENT_REQUIRES_CONFIRMATION,
    Payment.Status.PROCESSING: PaymentsAction.PAYMENT_PROCESSING,
    Payment.Status.REQUIRES_CAPTURE: PaymentsAction.PAYMENT_REQUIRES_CAPTURE,
    Payment.Status.SUCCEEDED: PaymentsAction.PAYMENT_SUCCEEDED,
    Payment.Status.CANCELED: PaymentsAction.PAYMENT_CANCELED,
    Payment.Status.FAILED: PaymentsAction.PAYMENT_FAILED,
    Payment.Status.UNKNOWN: PaymentsAction.PAYMENT_UNKNOWN,
}


def status_action(payment: Payment) -> PaymentsAction:
    return STATUS_ACTIONS[payment.status]


def status_event(payment: Payment) -> PaymentsEvent | None:
    """The event of the status a payment just moved to (None for the states in between): an
    authorisation is `payment.succeeded` (or `payment.requires_review` when risk holds it), and the
    capture of a payment captured by hand is `payment.captured`."""
    status = payment.status
    if status == Payment.Status.REQUIRES_CAPTURE:
        held = payment.review_status == Payment.Review.PENDING
        return PaymentsEvent.PAYMENT_REQUIRES_REVIEW if held else PaymentsEvent.PAYMENT_SUCCEEDED
    if status == Payment.Status.SUCCEEDED:
        by_hand = payment.capture_method == Payment.CaptureMethod.MANUAL
        return PaymentsEvent.PAYMENT_CAPTURED if by_hand else PaymentsEvent.PAYMENT_SUCCEEDED
    if status == Payment.Status.FAILED:
        return PaymentsEvent.PAYMENT_FAILED
    if status == Payment.Status.CANCELED:
        return PaymentsEvent.PAYMENT_CANCELED
    return None


def emit_status(payment: Payment, *, before: str, actor: Actor) -> None:
    """The payment's event when its status changed to one that has one."""
    event = status_event(payment)
    if event is not None and payment.status != before:
        emit(event, payment, actor=actor)


# Where a provider's answer may still move a payment (later answers never move it back).
OPEN_STATES = (Payment.Status.PROCESSING, Payment.Status.UNKNOWN)
# Where a "captured" answer may still move it.
CAPTURABLE = (*OPEN_STATES, Payment.Status.REQUIRES_CAPTURE)


def lock_payment(payment_id: str) -> Payment:
    require_transaction()
    return fetch_by_public_id(Payment, payment_id, field="payment_id", message="No such payment.", lock=True)


# What `mark_captured` writes, and what `apply_captures` writes with it.
CAPTURED_FIELDS = ("capture_entry_id", "fee_amount", "amount_captured", "status", "amount_capturable",
                   "authorised_at", "captured_at")
_CAPTURE_FIELDS = ["provider_reference", "card_brand", "card_country", "card_last4", *CAPTURED_FIELDS, "updated"]
ATTEMPT_OUTCOME_FIELDS = ["status", "latency_ms", "completed_at", "decline_code", "decline_message",
                          "provider_reference"]


def take_provider_details(payment: Payment, result: ProviderResult) -> set[str]:
    """Fills the provider reference and card details the payment does not have yet; the fields set."""
    fields: set[str] = set()
    if result.reference and not payment.provider_reference:
        payment.provider_reference = result.reference
        fields.add("provider_reference")
    if result.card.last4 and not payment.card_last4:
        payment.card_brand, payment.card_country, payment.card_last4 = (result.card.brand, result.card.country,
                                                                         result.card.last4)
        fields |= {"card_brand", "card_country", "card_last4"}
    return fields


def capture_delta(payment: Payment, result: ProviderResult) -> int:
    """What a "captured" answer adds to the payment's captured amount (never beyond its amount)."""
    return min(result.amount_captured, payment.amount) - payment.amount_captured


def mark_captured(payment: Payment, *, delta: int, entry_id: str, fee: int, now) -> None:
    """The payment as succeeded after a capture of `delta` posted as `entry_id` (nothing posted: delta <= 0)."""
    if delta > 0:
        payment.capture_entry_id = payment.capture_entry_id or entry_id
        payment.fee_amount += fee
        payment.amount_captured += delta
    payment.status, payment.amount_capturable = Payment.Status.SUCCEEDED, 0
    payment.authorised_at = payment.authorised_at or now
    payment.captured_at = now


# What `mark_canceled` writes.
CANCELED_FIELDS = ("status", "amount_capturable", "canceled_at", "cancellation_reason", "review_status")


def mark_canceled(payment: Payment, *, reason: str, now) -> None:
    """The payment as canceled; a risk review still pending ends rejected (nothing is left to approve)."""
    payment.status, payment.amount_capturable, payment.canceled_at = Payment.Status.CANCELED, 0, now
    payment.cancellation_reason = reason
    if payment.review_status == Payment.Review.PENDING:
        payment.review_status = Payment.Review.REJECTED


def attempt_status(result: ProviderResult) -> str:
    """The attempt status an authorise answer gives (unknown for anything but a definite outcome)."""
    return {"captured": PaymentAttempt.Status.CAPTURED, "authorised": PaymentAttempt.Status.AUTHORISED,
            "declined": PaymentAttempt.Status.DECLINED}.get(result.status, PaymentAttempt.Status.UNKNOWN)


def apply_result(*, payment: Payment, result: ProviderResult, actor: Actor, source: str,
                 attempt: PaymentAttempt | None = None) -> bool:
    """Moves a locked payment forward to what the provider says; returns whether it changed.

    Only forward moves: a late or repeated answer (webhook order is not guaranteed) never
    undoes a capture, a cancel or a failure.
    """
    require_transaction()
    before = (payment.status, payment.amount_captured)
    now = clock.now()
    status = payment.status
    if result.status == "captured" and status in CAPTURABLE:
        apply_captures([(payment, result)], actor=actor, source=source)
        _settle_attempt(attempt, result, now)
        return True  # succeeded from a state that is not
    fields = take_provider_details(payment, result)
    if result.status == "authorised" and status in OPEN_STATES:
        payment.status = Payment.Status.REQUIRES_CAPTURE
        payment.amount_capturable = min(result.amount_authorised or payment.amount, payment.amount)
        payment.authorised_at = now
        fields |= {"status", "amount_capturable", "authorised_at"}
    elif result.status == "declined" and status in OPEN_STATES:
        payment.status = Payment.Status.FAILED
        payment.failure_code = result.decline_code or "card_declined"
        payment.failure_message = result.decline_message[:300]
        fields |= {"status", "failure_code", "failure_message"}
    elif result.status == "canceled" and status in (*OPEN_STATES, Payment.Status.REQUIRES_CAPTURE):
        mark_canceled(payment, reason=payment.cancellation_reason or "provider", now=now)
        fields |= set(CANCELED_FIELDS)
    elif result.status == "processing" and status == Payment.Status.UNKNOWN:
        payment.status = Payment.Status.PROCESSING
        fields.add("status")
    elif result.status == "not_found" and status == Payment.Status.UNKNOWN:
        # The provider has no record of the attempt: nothing was charged.
        payment.status, payment.failure_code = Payment.Status.FAILED, "provider_no_record"
        payment.failure_message = "The provider has no record of this payment; nothing was charged."
        fields |= {"status", "failure_code", "failure_message"}
    _settle_attempt(attempt, result, now)
    if fields:
        touch(payment, *sorted(fields))
    changed = (payment.status, payment.amount_captured) != before
    if changed:
        audit_record(action=status_action(payment), actor=actor, obj=payment,
                     details={"source": source, "from": before[0], "amount_captured": payment.amount_captured})
        emit_status(payment, before=before[0], actor=actor)
    return changed


def apply_captures(captures: list[tuple[Payment, ProviderResult]], *, actor: Actor, source: str) -> None:
    """What a "captured" answer does to locked payments in a CAPTURABLE state (one or a batch): the
    provider's details taken, the capture posted (card captures in one ledger write, entries for
    wallets and top-ups one by one, the lot's locks taken first in the one lock order), the payments
    succeeded, their rows and events written with multi-row statements."""
    require_transaction()
    if not captures:
        return
    # The ledger's write, the payments' update, their audit events and events held to go in one statement (with
    # the enclosing block's last one where the caller holds rows): the payments stay locked fewer round trips.
    with heldrows.joining():
        _apply_captures(captures, actor=actor, source=source)


def _apply_captures(captures: list[tuple[Payment, ProviderResult]], *, actor: Actor, source: str) -> None:
    now = clock.now()
    deltas = [capture_delta(payment, result) for payment, result in captures]
    postings.lock_for_captures([(payment, delta) for (payment, _), delta in zip(captures, deltas, strict=True)])
    cards = [(payment, delta) for (payment, _), delta in zip(captures, deltas, strict=True)
             if delta > 0 and payment.method != Payment.Method.WALLET and not payment.wallet_id]
    card_entries = iter(postings.post_captures(cards, actor=actor) if cards else [])
    for (payment, result), delta in zip(captures, deltas, strict=True):
        before = payment.status
        take_provider_details(payment, result)
        if delta <= 0:
            entry_id, fee = "", 0
        elif payment.method != Payment.Method.WALLET and not payment.wallet_id:
            entry_id, fee = next(card_entries)
        else:
            entry_id, fee = postings.post_capture(payment=payment, amount=delta, actor=actor)
        mark_captured(payment, delta=delta, entry_id=entry_id, fee=fee, now=now)
        payment.updated = now
        heldrows.insert_later(audit_build(action=status_action(payment), actor=actor, obj=payment,
                                          details={"source": source, "from": before,
                                                   "amount_captured": payment.amount_captured}))
        event = status_event(payment)
        if event is not None and payment.status != before:
            heldrows.insert_later(build(event, payment, actor=actor))
    update_locked_rows_later(Payment, [payment for payment, _ in captures], _CAPTURE_FIELDS)


def _settle_attempt(attempt: PaymentAttempt | None, result: ProviderResult, now) -> None:
    """An attempt still open takes the outcome a later answer (verify, a webhook) gives it."""
    if attempt is None or attempt.status not in (PaymentAttempt.Status.PENDING, PaymentAttempt.Status.UNKNOWN):
        return
    attempt.status = {"captured": "captured", "authorised": "authorised", "declined": "declined",
                      "canceled": "declined", "not_found": "declined"}.get(result.status, attempt.status)
    attempt.provider_reference = attempt.provider_reference or result.reference
    attempt.decline_code = result.decline_code if result.status == "declined" else attempt.decline_code
    attempt.completed_at = attempt.completed_at or now
    attempt.save(update_fields=["status", "provider_reference", "decline_code", "completed_at"])


def set_attempt_outcome(attempt: PaymentAttempt, *, status: str, latency_ms: int, now, decline_code: str = "",
                        decline_message: str = "", reference: str = "") -> None:
    """The attempt's ATTEMPT_OUTCOME_FIELDS, in memory (`record_attempt_outcome` saves and counts them)."""
    attempt.status, attempt.latency_ms, attempt.completed_at = status, latency_ms, now
    attempt.decline_code, attempt.decline_message = decline_code, decline_message[:300]
    attempt.provider_reference = reference or attempt.provider_reference


def record_attempt_outcome(*, attempt: PaymentAttempt, status: str, latency_ms: int, currency: str,
                           decline_code: str = "", decline_message: str = "", reference: str = "") -> None:
    require_transaction()
    set_attempt_outcome(attempt, status=status, latency_ms=latency_ms, now=clock.now(), decline_code=decline_code,
                        decline_message=decline_message, reference=reference)
    attempt.save(update_fields=ATTEMPT_OUTCOME_FIELDS)
    if status != PaymentAttempt.Status.UNKNOWN:
        success = status in (PaymentAttempt.Status.AUTHORISED, PaymentAttempt.Status.CAPTURED)
        routing.record_outcomes({(attempt.provider, currency): (1, int(success), max(latency_ms, 0))})
