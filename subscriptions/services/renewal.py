"""Renewing a chunk of subscriptions with multi-row statements (the billing cycle's common case).

`renew_many` writes, for a subscription in good standing with nothing pending, the rows
`billing.renew_one` writes (a final cycle invoice with its plan line, the period advanced, the
`invoice.finalized` event), but builds the whole chunk in memory and takes its invoice numbers
last, in one `UPDATE ... SET last = last + n`: the per-year counter row is then locked for the
few milliseconds before the chunk commits instead of for the whole chunk, so concurrent runs
renew in parallel. Numbers stay gapless: they are taken in the chunk's transaction, and a
rollback gives them all back. Everything else (cancel at period end, trials, pending lines or
credits, a period already invoiced) goes through `renew_one`, after the batch, so its own number
lock is also held only at the end.
"""

from __future__ import annotations

import datetime as dt

from core import clock
from core.context import Actor
from core.db import require_transaction, update_rows
from core.models import AuditEvent

from ..models import BillingRun, Invoice, InvoiceLine, Subscription
from ..periods import period_bounds
from .invoices import _finalized_event, _invoice_row, _line_row, _open_invoice, take_numbers
from .subscriptions import _plan_line


def _next_period(sub: Subscription) -> tuple[int, dt.datetime, dt.datetime]:
    """The index and bounds of the period a renewal starts."""
    plan, index = sub.plan, sub.period_index + 1
    return (index, *period_bounds(sub.billing_cycle_anchor, plan.interval, plan.interval_count, index))


def _batchable(subs: list[Subscription]) -> list[Subscription]:
    """The subscriptions `renew_many` can take: active, not ending, nothing pending, period not invoiced."""
    candidates = [s for s in subs if s.status == Subscription.Status.ACTIVE and not s.cancel_at_period_end]
    ids = [s.id for s in candidates]
    pending = set(InvoiceLine.objects.filter(subscription_id__in=ids, invoice__isnull=True)
                  .values_list("subscription_id", flat=True))
    starts = {s.id: _next_period(s)[1] for s in candidates}
    invoiced = set(Invoice.objects.filter(subscription_id__in=ids, period_start__in=set(starts.values()))
                   .values_list("subscription_id", "period_start"))
    return [s for s in candidates if s.id not in pending and (s.id, starts[s.id]) not in invoiced]


def _renew_many(subs: list[Subscription], actor: Actor, run: BillingRun) -> None:
    require_transaction()
    if not subs:
        return
    now = clock.now()
    invoices, lines = [], []
    for sub in subs:
        index, start, end = _next_period(sub)
        line = _plan_line(sub, start, end)
        invoice = _invoice_row(sub=sub, reason=Invoice.Reason.CYCLE, period_start=start, period_end=end,
                              total=line.amount, now=now)
        invoices.append(invoice)
        lines.append(_line_row(sub, line, invoice, now))
        sub.period_index, sub.current_period_start, sub.current_period_end, sub.updated = index, start, end, now
    for invoice, number in zip(invoices, take_numbers(now.year, len(invoices)), strict=True):
        _open_invoice(invoice, now, number, collect_from=now)
    Invoice.objects.bulk_create(invoices)
    InvoiceLine.objects.bulk_create(lines)
    update_rows(Subscription, subs, ["period_index", "current_period_start", "current_period_end", "updated"])
    AuditEvent.objects.bulk_create([_finalized_event(invoice, actor) for invoice in invoices])
    run.renewed += len(subs)
    run.invoices_created += len(subs)
