"""`seed_demo --scale large`: subscriptions on the demo plans, signed up over the year: their history
rows (`SubscriptionEvent`, what MRR and churn are computed from: `created`, then `canceled` for about
a fifth, `past_due` for a few), the audit events and events `subscription_create` and
`subscription_cancel` write. Invoices are not written (the default seed's billing runs make them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.bulkseed import LargeSeed, copy_rows, fast_id, iso

from .audit import SubscriptionsAction
from .demo import _plans
from .events import SubscriptionsEvent
from .models import Plan, Subscription, SubscriptionEvent
from .periods import advance, period_bounds
from .services.common import PAYING, _monthly_amount

_EVENT_NAMES = ["subscription_id", "customer_id", "kind", "status", "plan_id", "quantity", "currency", "mrr", "at"]


def _period(plan: Plan, anchor: dt.datetime, now: dt.datetime) -> tuple[int, dt.datetime, dt.datetime]:
    """The billing period holding `now`, counted from the anchor as renewal counts it (never from a period's end)."""
    index = 0
    while advance(anchor, plan.interval, plan.interval_count, index + 1) <= now:
        index += 1
    return (index, *period_bounds(anchor, plan.interval, plan.interval_count, index))


def seed_large(seed: LargeSeed) -> None:
    from accounts.models import Customer

    customers = list(Customer.objects.filter(email__endswith="@large.example").values_list("id", flat=True))
    if not customers:
        return
    rng, now = seed.rng, seed.now
    plans = [p for p in _plans(seed.audit.actor).values() if p.interval in ("month", "year")]
    names = [f.attname for f in Subscription._meta.concrete_fields]
    with seed.timer.phase("subscriptions: subscriptions and their history") as note:
        rows: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        canceled = 0
        for i in range(seed.subscriptions):
            plan = rng.choice(plans)
            customer_id = customers[i % len(customers)]
            signup = (seed.start + dt.timedelta(seconds=rng.uniform(0, seed.days * 86_400 - 3600))).replace(
                microsecond=0
            )
            quantity = 1 if rng.random() < 0.8 else rng.randint(2, 10)
            trial_end = signup + dt.timedelta(days=plan.trial_days) if plan.trial_days else None
            anchor = trial_end or signup
            status = "trialing" if trial_end and trial_end > now else "active"
            sub_id = fast_id("sub")
            mrr = _monthly_amount(plan, quantity)
            history.append(
                (
                    sub_id,
                    customer_id,
                    "created",
                    status,
                    plan.pk,
                    quantity,
                    plan.currency,
                    mrr if status in PAYING else 0,
                    signup,
                )
            )
            ended = None
            if rng.random() < 0.2:
                ended = (signup + dt.timedelta(days=rng.uniform(3, 300))).replace(microsecond=0)
                if ended >= now:
                    ended = None
            index, start, end = (-1, signup, trial_end) if status == "trialing" else _period(plan, anchor, ended or now)
            if ended is not None:
                status = "canceled"
                history.append((sub_id, customer_id, "canceled", status, plan.pk, quantity, plan.currency, 0, ended))
                canceled += 1
            elif status == "active" and rng.random() < 0.03:
                status = "past_due"
                history.append((sub_id, customer_id, "past_due", status, plan.pk, quantity, plan.currency, mrr, start))
            row = {f.attname: f.get_default() for f in Subscription._meta.concrete_fields}
            row.update(
                id=sub_id,
                customer_id=customer_id,
                plan_id=plan.pk,
                quantity=quantity,
                status=status,
                billing_cycle_anchor=anchor,
                period_index=index,
                current_period_start=start,
                current_period_end=end,
                trial_end=trial_end,
                canceled_at=ended,
                ended_at=ended,
                payment_method="tok_visa",
                metadata={"demo": "large"},
                created=signup,
                updated=ended or signup,
            )
            rows.append(tuple(row[n] for n in names))
            obj = {
                "id": sub_id,
                "object": "subscription",
                "customer_id": customer_id,
                "plan_id": plan.pk,
                "quantity": quantity,
                "status": status,
                "created": iso(signup),
            }
            seed.audit.add(
                action=SubscriptionsAction.SUBSCRIPTION_CREATED,
                at=signup,
                object_type="subscriptions.subscription",
                object_id=sub_id,
                details={"plan_id": plan.pk, "quantity": quantity},
            )
            seed.events.add(
                type=SubscriptionsEvent.SUBSCRIPTION_CREATED,
                at=signup,
                object_type="subscriptions.subscription",
                object_id=sub_id,
                obj=obj,
            )
            if ended is not None:
                seed.audit.add(
                    action=SubscriptionsAction.SUBSCRIPTION_CANCELED,
                    at=ended,
                    object_type="subscriptions.subscription",
                    object_id=sub_id,
                    details={"at_period_end": False},
                )
                seed.events.add(
                    type=SubscriptionsEvent.SUBSCRIPTION_CANCELED,
                    at=ended,
                    object_type="subscriptions.subscription",
                    object_id=sub_id,
                    obj=obj,
                )
            if len(rows) >= 20_000:
                note["subscriptions"] = note.get("subscriptions", 0) + copy_rows(Subscription, names, rows)
                rows = []
        note["subscriptions"] = note.get("subscriptions", 0) + copy_rows(Subscription, names, rows)
        history.sort(key=lambda h: h[-1])
        note["history rows"] = copy_rows(SubscriptionEvent, _EVENT_NAMES, history)
        note["canceled"] = canceled
        seed.flush()
