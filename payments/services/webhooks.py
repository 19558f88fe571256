"""Provider webhooks: verified, stored once per provider event id before we answer 2xx, then
applied idempotently. An event whose application fails stays `failed` and can be retried.

Delivery is at-least-once and unordered, so applying only ever moves a payment forward
(`apply_result`), and a refund only leaves `pending` once.

`webhook_receive` owns its transaction (`@use_case(steps=True)`, one step): a redelivered event
is a unique-key conflict that must roll back only the insert, then be read. `webhook_apply` is a
plain use case; `webhook_retry_failed` applies each event in its own.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.ids import get_by_public_id, has_prefix

from ..audit import PaymentsAction
from ..models import Payment, PaymentAttempt, Refund, WebhookEvent
from ..providers import RefundResult, WebhookPayload, get_provider
from .common import apply_result, lock_payment
from .refunds import refund_apply_result

logger = logging.getLogger("payments.webhooks")
PAYMENT_EVENTS = ("payment_intent.succeeded", "payment_intent.amount_capturable_updated",
                  "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.processing")
_STATUS_ACTIONS: dict[str, PaymentsAction] = {WebhookEvent.Status.RECEIVED: PaymentsAction.WEBHOOK_RECEIVED,
                   WebhookEvent.Status.PROCESSED: PaymentsAction.WEBHOOK_PROCESSED,
                   WebhookEvent.Status.IGNORED: PaymentsAction.WEBHOOK_IGNORED,
                   WebhookEvent.Status.FAILED: PaymentsAction.WEBHOOK_FAILED}
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


@use_case(steps=True)
def webhook_receive(*, provider_name: str, payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Verifies and stores an event; returns (event, is_new). Signature errors propagate."""
    parsed: WebhookPayload = get_provider(provider_name).parse_webhook(payload=payload, signature=signature)
    obj = parsed.object
    payment_id = (obj.get("metadata") or {}).get("payment_id", "") if isinstance(obj, dict) else ""
    try:
        # The one step: its own atomic block (a savepoint if a test holds a transaction), so the
        # conflict of a redelivery rolls back only this insert.
        with transaction.atomic():
            event = WebhookEvent.objects.create(provider=provider_name, provider_event_id=parsed.event_id,
                                                type=parsed.type, payload=parsed.raw, payment_id=payment_id[:40],
                                                received_at=clock.now())
    except IntegrityError:
        # A redelivery or a replay: already stored, and applied (or retryable) from the first copy.
        return WebhookEvent.objects.get(provider=provider_name, provider_event_id=parsed.event_id), False
    return event, True


def _find_payment(obj: dict) -> Payment | None:
    payment_id = (obj.get("metadata") or {}).get("payment_id", "")
    if has_prefix(payment_id, "pay"):
        found = Payment.objects.filter(pk=payment_id).first()
        if found is not None:
            return found
    return Payment.objects.filter(provider_reference=obj.get("id") or "-").first() if obj.get("id") else None


def _apply_payment_event(event: WebhookEvent, actor: Actor) -> str:
    obj = (event.payload.get("data") or {}).get("object") or {}
    found = _find_payment(obj)
    if found is None:
        return WebhookEvent.Status.IGNORED
    provider = get_provider(event.provider)
    result = provider.result_from_object(obj)
    payment = lock_payment(found.id)
    attempt_id = (obj.get("metadata") or {}).get("attempt_id", "")
    attempt = PaymentAttempt.objects.select_for_update().filter(pk=attempt_id, payment=payment).first()
    apply_result(payment=payment, result=result, actor=actor, source=f"webhook:{event.type}", attempt=attempt)
    event.payment_id = payment.id
    return WebhookEvent.Status.PROCESSED


def _apply_refund_event(event: WebhookEvent, actor: Actor) -> str:
    obj = (event.payload.get("data") or {}).get("object") or {}
    refund_id = (obj.get("metadata") or {}).get("refund_id", "")
    refund = Refund.objects.filter(pk=refund_id).first() if has_prefix(refund_id, "re") else None
    if refund is None:
        return WebhookEvent.Status.IGNORED
    status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(obj.get("status"), "pending")  # type: ignore[arg-type]  # no status (None) is pending
    refund_apply_result(refund_id=refund.id, result=RefundResult(status, obj.get("id", ""),
                                                                 obj.get("failure_reason") or ""), actor=actor)
    event.payment_id = refund.payment_id
    return WebhookEvent.Status.PROCESSED


@use_case
def webhook_apply(*, actor: Actor, event_id: str) -> WebhookEvent:
    event = get_by_public_id(WebhookEvent.objects.select_for_update(), event_id, field="event_id",
                             message="No such webhook event.")
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
        return event
    event.attempts += 1
    try:
        # An atomic block, not a bare savepoint: a failure inside that marked the transaction for rollback (a
        # capture's held rows, core.heldrows) is undone to the savepoint with the block, and the event recorded.
        with transaction.atomic():
            if event.type in PAYMENT_EVENTS:
                status = _apply_payment_event(event, actor)
            elif event.type in REFUND_EVENTS:
                status = _apply_refund_event(event, actor)
            else:
                status = WebhookEvent.Status.IGNORED
    except Exception as exc:
        # Keep the event and the reason; the admin action or the retry job tries again.
        logger.exception("webhook application failed", extra={"event_id": event.id, "type": event.type})
        event.status, event.last_error = WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    else:
        event.status, event.last_error, event.processed_at = status, "", clock.now()
    event.save(update_fields=["attempts", "status", "last_error", "processed_at", "payment_id"])
    audit_record(action=_STATUS_ACTIONS[event.status], actor=actor, obj=event, details={"type": event.type})
    return event


@use_case(steps=True)
def webhook_retry_failed(*, actor: Actor, limit: int = 200) -> int:
    ids = list(WebhookEvent.objects.filter(status__in=(WebhookEvent.Status.FAILED, WebhookEvent.Status.RECEIVED))
               .order_by("received_at").values_list("pk", flat=True)[:limit])
    return sum(webhook_apply(actor=actor, event_id=pk).status == WebhookEvent.Status.PROCESSED for pk in ids)
