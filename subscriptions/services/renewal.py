"""Renewing the subscriptions whose period ended, a chunk at a time.

One rule for every due subscription, written with multi-row statements: a subscription set to
cancel at period end is canceled; every other one gets its final cycle invoice (its plan line
plus whatever is pending: proration lines, credits) and its next period, and a trial converts to
active. The chunk is built in memory and its invoice numbers are taken last, in one
`UPDATE ... SET last = last + n`, so the per-year counter row is locked for the moments before
the chunk commits and concurrent runs renew in parallel. A period that already has its invoice
(only a bug could get there: the chunk query skips locked rows) is left alone and reported; the
database's `invoice_one_per_period` refuses it anyway.
"""

from __future__ import annotations

import datetime as dt

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, update_rows
from core.models import touch

from ..audit import SubscriptionsAction
from ..models import BillingRun, Invoice, Subscription
from ..periods import period_bounds
from .common import _record_event
from .invoices import _Draft, _invoices_build
from .subscriptions import _plan_line


def _next_period(sub: Subscription) -> tuple[int, dt.datetime, dt.datetime]:
    """The index and bounds of the period a renewal starts."""
    plan, index = sub.plan, sub.period_index + 1
    return (index, *period_bounds(sub.billing_cycle_anchor, plan.interval, plan.interval_count, index))


def _cancel_at_period_end(sub: Subscription, actor: Actor, run: BillingRun) -> None:
    sub.status, sub.ended_at = Subscription.Status.CANCELED, sub.current_period_end
    touch(sub, "status", "ended_at")
    _record_event(sub, "canceled")
    audit_record(action=SubscriptionsAction.SUBSCRIPTION_CANCELED, actor=actor, obj=sub,
                 details={"at_period_end": True})
    run.canceled += 1


def _renew(subs: list[Subscription], actor: Actor, run: BillingRun) -> list[Subscription]:
    """Renews (or cancels at period end) the locked due subscriptions; returns those whose new
    period was already invoiced, left as they were."""
    require_transaction()
    for sub in subs:
        if sub.cancel_at_period_end:
            _cancel_at_period_end(sub, actor, run)
    due = [s for s in subs if not s.cancel_at_period_end]
    periods = {s.id: _next_period(s) for s in due}
    invoiced = set(Invoice.objects.filter(subscription_id__in=[s.id for s in due],
                                          period_start__in={start for _, start, _ in periods.values()})
                   .values_list("subscription_id", "period_start")) if due else set()
    duplicates = [s for s in due if (s.id, periods[s.id][1]) in invoiced]
    due = [s for s in due if (s.id, periods[s.id][1]) not in invoiced]
    if not due:
        return duplicates
    now = clock.now()
    drafts = [_Draft(sub, Invoice.Reason.CYCLE, periods[sub.id][1], periods[sub.id][2],
                     [_plan_line(sub, periods[sub.id][1], periods[sub.id][2])], collect_from=now) for sub in due]
    _invoices_build(drafts, actor)
    converted = [s for s in due if s.status == Subscription.Status.TRIALING]
    for sub in due:
        sub.period_index, sub.current_period_start, sub.current_period_end = periods[sub.id]
        sub.updated = now
        if sub.status == Subscription.Status.TRIALING:
            sub.status = Subscription.Status.ACTIVE
    update_rows(Subscription, due, ["period_index", "current_period_start", "current_period_end", "status",
                                    "updated"])
    for sub in converted:
        _record_event(sub, "trial_converted")
    run.renewed += len(due)
    run.invoices_created += len(due)
    return duplicates
