"""Helpers shared by the subscription services: locks, plans, MRR history."""

from __future__ import annotations

from core import clock
from core.db import require_transaction
from core.events import emit
from core.ids import get_by_public_id

from ..errors import InvoiceNotFound, PlanNotFound, SubscriptionNotFound
from ..events import SubscriptionsEvent
from ..models import Invoice, Plan, Subscription, SubscriptionEvent

# Statuses in which a subscription counts as recurring revenue (past_due still owes and is retried).
PAYING = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)
# Days per interval over a 365-day year, to normalise weekly/daily prices to a month.
_MONTHLY = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}


def _monthly_amount(plan: Plan, quantity: int) -> int:
    """The plan's price per month in minor units, rounded half-up once per subscription."""
    mul, div = _MONTHLY[plan.interval]
    numerator, denominator = plan.amount * quantity * mul, div * plan.interval_count
    return (2 * numerator + denominator) // (2 * denominator)


# The integrators' event of each kind of subscription history row (every other kind: updated).
_EVENT_OF_KIND = {
    "created": SubscriptionsEvent.SUBSCRIPTION_CREATED, "canceled": SubscriptionsEvent.SUBSCRIPTION_CANCELED,
    "dunning_canceled": SubscriptionsEvent.SUBSCRIPTION_CANCELED, "paused": SubscriptionsEvent.SUBSCRIPTION_PAUSED,
    "resumed": SubscriptionsEvent.SUBSCRIPTION_RESUMED, "past_due": SubscriptionsEvent.SUBSCRIPTION_PAST_DUE,
    "dunning_past_due": SubscriptionsEvent.SUBSCRIPTION_PAST_DUE,
}


def _record_event(sub: Subscription, kind: str) -> SubscriptionEvent:
    """A row of the subscription's history (MRR) and the integrators' event of the same change."""
    mrr = _monthly_amount(sub.plan, sub.quantity) if sub.status in PAYING else 0
    row = SubscriptionEvent.objects.create(
        subscription=sub, customer_id=sub.customer_id, kind=kind, status=sub.status, plan_id=sub.plan_id,
        quantity=sub.quantity, currency=sub.plan.currency, mrr=mrr, at=clock.now())
    emit(_EVENT_OF_KIND.get(kind, SubscriptionsEvent.SUBSCRIPTION_UPDATED), sub)
    return row


def _get_plan(plan_id: str, *, lock: bool = False) -> Plan:
    qs = Plan.objects.select_for_update() if lock else Plan.objects.all()
    return get_by_public_id(qs, plan_id, field="plan_id", error=PlanNotFound)


def lock_subscription(subscription_id: str) -> Subscription:
    require_transaction()
    return get_by_public_id(Subscription.objects.select_for_update(of=("self",)).select_related("plan", "customer"),
                            subscription_id, field="subscription_id", error=SubscriptionNotFound)


def lock_invoice(invoice_id: str) -> Invoice:
    require_transaction()
    return get_by_public_id(Invoice.objects.select_for_update(of=("self",)).select_related("subscription"),
                            invoice_id, field="invoice_id", error=InvoiceNotFound)
