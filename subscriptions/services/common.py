"""Helpers shared by the subscription services: locks, MRR history, notifications."""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from core import clock
from core.db import run_in_transaction
from core.ids import get_by_public_id

from ..errors import InvoiceNotFound, PlanNotFound, SubscriptionNotFound
from ..models import Invoice, Notification, Plan, Subscription, SubscriptionEvent

logger = logging.getLogger("subscriptions")

# Statuses in which a subscription counts as recurring revenue (past_due still owes and is retried).
PAYING = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)
# Days per interval over a 365-day year, to normalise weekly/daily prices to a month.
_MONTHLY = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}


def monthly_amount(plan: Plan, quantity: int) -> int:
    """The plan's price per month in minor units, rounded half-up once per subscription."""
    mul, div = _MONTHLY[plan.interval]
    numerator, denominator = plan.amount * quantity * mul, div * plan.interval_count
    return (2 * numerator + denominator) // (2 * denominator)


def record_event(sub: Subscription, kind: str) -> SubscriptionEvent:
    mrr = monthly_amount(sub.plan, sub.quantity) if sub.status in PAYING else 0
    return SubscriptionEvent.objects.create(
        subscription=sub, customer_id=sub.customer_id, kind=kind, status=sub.status, plan_id=sub.plan_id,
        quantity=sub.quantity, currency=sub.plan.currency, mrr=mrr, at=clock.now())


def get_plan(plan_id: str, *, lock: bool = False) -> Plan:
    qs = Plan.objects.select_for_update() if lock else Plan.objects.all()
    return get_by_public_id(qs, plan_id, field="plan_id", error=PlanNotFound)


def lock_subscription(subscription_id: str) -> Subscription:
    return get_by_public_id(Subscription.objects.select_for_update(of=("self",)).select_related("plan", "customer"),
                            subscription_id, field="subscription_id", error=SubscriptionNotFound)


def lock_invoice(invoice_id: str) -> Invoice:
    return get_by_public_id(Invoice.objects.select_for_update(of=("self",)).select_related("subscription"),
                            invoice_id, field="invoice_id", error=InvoiceNotFound)


def save(obj, *fields: str) -> None:
    obj.updated = clock.now()
    obj.save(update_fields=[*fields, "updated"])


def queue_notification(*, sub: Subscription, invoice: Invoice | None, kind: str, subject: str,
                       body: str) -> Notification | None:
    """Recorded in the caller's transaction; sent by `deliver_notifications` after it commits."""
    to = sub.customer.email
    if not to:
        return None
    return Notification.objects.create(subscription=sub, invoice=invoice, kind=kind, to=to, subject=subject,
                                       body=body, created=clock.now())


def deliver_notifications(ids: list[int]) -> int:
    """Sends recorded notifications through Django's mail backend; a failed send stays unsent."""
    sent = 0
    for note in Notification.objects.filter(pk__in=ids, sent__isnull=True):
        try:
            send_mail(note.subject, note.body, None, [note.to])
        except OSError:
            logger.exception("notification not sent", extra={"notification": note.pk})
            continue
        run_in_transaction(lambda n=note: Notification.objects.filter(pk=n.pk).update(sent=clock.now()))
        sent += 1
    return sent
