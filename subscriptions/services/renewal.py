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

from django.db import connection

from core import clock
from core.audit import audit_build
from core.context import Actor
from core.db import require_transaction, update_rows
from core.models import AuditEvent

from ..models import BillingRun, Invoice, InvoiceLine, InvoiceSequence, Subscription
from ..periods import period_bounds
from .subscriptions import plan_line


def take_numbers(year: int, count: int) -> list[str]:
    """`count` consecutive numbers of the UTC year from one upsert (the counter row stays locked
    until the caller's transaction ends, as with `take_number`)."""
    require_transaction()
    table = InvoiceSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (year, last) VALUES (%s, %s) ON CONFLICT (year) "
                       f"DO UPDATE SET last = {table}.last + EXCLUDED.last RETURNING last", [year, count])
        last = cursor.fetchone()[0]
    return [f"INV-{year}-{n:06d}" for n in range(last - count + 1, last + 1)]


def batchable(subs: list[Subscription]) -> list[Subscription]:
    """The subscriptions `renew_many` can take: active, not ending, nothing pending, period not invoiced."""
    candidates = [s for s in subs if s.status == Subscription.Status.ACTIVE and not s.cancel_at_period_end]
    ids = [s.id for s in candidates]
    pending = set(InvoiceLine.objects.filter(subscription_id__in=ids, invoice__isnull=True)
                  .values_list("subscription_id", flat=True))
    bounds = {s.id: period_bounds(s.billing_cycle_anchor, s.plan.interval, s.plan.interval_count,
                                  s.period_index + 1) for s in candidates}
    invoiced = set(Invoice.objects.filter(subscription_id__in=ids, period_start__in={b[0] for b in bounds.values()})
                   .values_list("subscription_id", "period_start"))
    return [s for s in candidates if s.id not in pending and (s.id, bounds[s.id][0]) not in invoiced]


def renew_many(subs: list[Subscription], actor: Actor, run: BillingRun) -> None:
    require_transaction()
    if not subs:
        return
    now = clock.now()
    invoices, lines, audits = [], [], []
    for sub in subs:
        plan, index = sub.plan, sub.period_index + 1
        start, end = period_bounds(sub.billing_cycle_anchor, plan.interval, plan.interval_count, index)
        line = plan_line(sub, start, end)
        invoice = Invoice(subscription=sub, customer_id=sub.customer_id, billing_reason=Invoice.Reason.CYCLE,
                          currency=plan.currency, period_start=start, period_end=end, subtotal=line.amount,
                          total=line.amount, created=now, updated=now, status=Invoice.Status.OPEN,
                          finalized_at=now, due_date=now)
        if invoice.total == 0:
            invoice.status, invoice.paid_at = Invoice.Status.PAID, now
        else:
            invoice.next_payment_attempt = now
        invoices.append(invoice)
        lines.append(InvoiceLine(subscription=sub, invoice=invoice, description=line.description[:300],
                                 period_start=start, period_end=end, quantity=line.quantity,
                                 unit_amount=line.unit_amount, amount=line.amount, currency=line.currency,
                                 proration=line.proration, plan_id=line.plan_id, created=now))
        sub.period_index, sub.current_period_start, sub.current_period_end, sub.updated = index, start, end, now
    for invoice, number in zip(invoices, take_numbers(now.year, len(invoices)), strict=True):
        invoice.number = number
        audits.append(audit_build(action="invoice.finalized", actor=actor, obj=invoice,
                                  details={"number": number, "total": invoice.total, "currency": invoice.currency}))
    Invoice.objects.bulk_create(invoices)
    InvoiceLine.objects.bulk_create(lines)
    update_rows(Subscription, subs, ["period_index", "current_period_start", "current_period_end", "updated"])
    AuditEvent.objects.bulk_create(audits)
    run.renewed += len(subs)
    run.invoices_created += len(subs)
