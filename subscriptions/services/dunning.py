"""Dunning: what a failed attempt does to its invoice and subscription (a retry on the
staff-editable schedule, none after a hard decline, then the configured final action), and
staff edits of that schedule (each save is a new row, so the history stays)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.errors import ValidationFailed
from core.events import emit
from core.models import touch

from ..audit import SubscriptionsAction
from ..events import InvoicesEvent
from ..models import DunningSettings, Invoice, InvoiceAttempt, Subscription
from . import notifications
from .common import _record_event

# Declines that retrying cannot fix (Stripe Smart Retries skips these too); everything else is soft.
HARD_DECLINE_CODES = frozenset({
    "expired_card", "lost_card", "stolen_card", "pickup_card", "fraudulent", "incorrect_number",
    "invalid_account", "card_not_supported", "blocked_by_risk", "restricted_card", "revocation_of_authorization",
    "no_payment_method", "wallet_frozen", "not_found", "currency_mismatch", "validation_error",
})
_FAILURE_FIELDS = ["attempt_count", "first_failed_at", "last_failure_code", "next_payment_attempt"]


def _settle_failed(invoice: Invoice, attempt: InvoiceAttempt, sub: Subscription, *, code: str, message: str,
                   payment_id: str, actor: Actor, now: dt.datetime,
                   config: Callable[[], DunningSettings]) -> list[int | None]:
    """A declined attempt (invoice and subscription locked): records it, then the first payment
    waits for the customer, a soft decline is retried, and anything else ends dunning. Returns the
    notifications to send."""
    notes = _record_failure(invoice, attempt, sub, code=code, message=message, payment_id=payment_id, actor=actor,
                            now=now, config=config)
    # After the retry (or the end of dunning) is decided: the event carries next_payment_attempt.
    emit(InvoicesEvent.INVOICE_PAYMENT_FAILED, invoice, actor=actor)
    return notes


def _record_failure(invoice: Invoice, attempt: InvoiceAttempt, sub: Subscription, *, code: str, message: str,
                    payment_id: str, actor: Actor, now: dt.datetime,
                    config: Callable[[], DunningSettings]) -> list[int | None]:
    hard = code in HARD_DECLINE_CODES
    attempt.status, attempt.failure_code, attempt.failure_message = InvoiceAttempt.Status.FAILED, code, message[:300]
    attempt.hard_decline, attempt.payment_id, attempt.settled = hard, payment_id, now
    attempt.save(update_fields=["status", "failure_code", "failure_message", "hard_decline", "payment_id",
                                "settled"])
    invoice.attempt_count += 1
    invoice.first_failed_at = invoice.first_failed_at or now
    invoice.last_failure_code = code
    audit_record(action=SubscriptionsAction.INVOICE_PAYMENT_FAILED, actor=actor, obj=invoice,
                 details={"failure_code": code, "attempt": invoice.attempt_count, "hard": hard})
    if sub.status == Subscription.Status.INCOMPLETE:
        # The first payment: no dunning; the customer pays within 23 h or the subscription expires.
        invoice.next_payment_attempt = None
        touch(invoice, *_FAILURE_FIELDS)
        return []
    settings = config()
    retries_done = invoice.attempt_count - 1
    if not hard and retries_done < len(settings.retry_days):
        return _schedule_retry(invoice, sub, settings, retries_done, message)
    return _end_dunning(invoice, sub, settings, hard=hard, message=message, actor=actor, now=now)


def _schedule_retry(invoice: Invoice, sub: Subscription, settings: DunningSettings, retries_done: int,
                    message: str) -> list[int | None]:
    assert invoice.first_failed_at is not None  # set when the first attempt failed
    invoice.next_payment_attempt = invoice.first_failed_at + dt.timedelta(days=settings.retry_days[retries_done])
    touch(invoice, *_FAILURE_FIELDS)
    if sub.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
        sub.status = Subscription.Status.PAST_DUE
        touch(sub, "status")
        _record_event(sub, "past_due")
    return [notifications._payment_failed(sub, invoice, message)] if settings.notify_customers else []


def _end_dunning(invoice: Invoice, sub: Subscription, settings: DunningSettings, *, hard: bool, message: str,
                 actor: Actor, now: dt.datetime) -> list[int | None]:
    invoice.next_payment_attempt = None
    fields = list(_FAILURE_FIELDS)
    if settings.mark_uncollectible:
        invoice.status = Invoice.Status.UNCOLLECTIBLE
        fields.append("status")
    touch(invoice, *fields)
    final = settings.final_action
    if final == DunningSettings.FinalAction.CANCELED:
        sub.status, sub.canceled_at, sub.ended_at = Subscription.Status.CANCELED, now, now
        touch(sub, "status", "canceled_at", "ended_at")
    elif final == DunningSettings.FinalAction.UNPAID:
        sub.status = Subscription.Status.UNPAID
        touch(sub, "status")
    else:
        sub.status = Subscription.Status.PAST_DUE
        touch(sub, "status")
    _record_event(sub, f"dunning_{final}")
    audit_record(action=SubscriptionsAction.SUBSCRIPTION_DUNNING_ENDED, actor=actor, obj=sub,
                 details={"final_action": final, "hard_decline": hard, "invoice_id": invoice.id})
    if not settings.notify_customers:
        return []
    return [notifications._dunning_ended(sub, invoice, final=final, hard=hard, message=message)]


@use_case
def dunning_settings_save(*, actor: Actor, retry_days: list, final_action: str, mark_uncollectible: bool = False,
                          notify_customers: bool = True, note: str = "") -> DunningSettings:
    if (not isinstance(retry_days, list) or len(retry_days) > 20
            or any(isinstance(d, bool) or not isinstance(d, int) or not 0 < d <= 90 for d in retry_days)
            or retry_days != sorted(set(retry_days))):
        raise ValidationFailed({"retry_days": ["Increasing whole days between 1 and 90, at most 20 of them."]})
    if final_action not in DunningSettings.FinalAction.values:
        raise ValidationFailed({"final_action": [f"One of {', '.join(DunningSettings.FinalAction.values)}."]})
    row = DunningSettings.objects.create(retry_days=retry_days, final_action=final_action,
                                         mark_uncollectible=mark_uncollectible, notify_customers=notify_customers,
                                         note=note[:200], created_by=actor.user, created=clock.now())
    audit_record(action=SubscriptionsAction.DUNNING_SETTINGS_SAVED, actor=actor, obj=row,
                 details={"retry_days": retry_days, "final_action": final_action})
    return row
