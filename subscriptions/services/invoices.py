"""Invoices: built from lines, finalised with a gapless number, then only paid, voided or
written off. A final invoice is never edited: corrections are lines on a later invoice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import prefetch_related_objects

from core import clock
from core.audit import audit_build, audit_record
from core.context import Actor
from core.db import require_transaction, update_rows, use_case
from core.events import build, emit, emit_many
from core.models import AuditEvent, touch

from ..audit import SubscriptionsAction
from ..errors import InvoiceStateError
from ..events import InvoicesEvent
from ..models import Invoice, InvoiceLine, InvoiceSequence, Subscription
from ..proration import Line
from .common import lock_invoice


def take_numbers(year: int, count: int) -> list[str]:
    """`count` consecutive numbers of the UTC year from one upsert that keeps the counter row locked
    until the finalising transaction ends: gapless, because a rollback gives the numbers back."""
    require_transaction()
    table = InvoiceSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (year, last) VALUES (%s, %s) ON CONFLICT (year) "
                       f"DO UPDATE SET last = {table}.last + EXCLUDED.last RETURNING last", [year, count])
        last = cursor.fetchone()[0]
    return [f"INV-{year}-{n:06d}" for n in range(last - count + 1, last + 1)]


def _take_number(year: int) -> str:
    return take_numbers(year, 1)[0]


def _line_row(sub: Subscription, line: Line, invoice: Invoice | None, now: dt.datetime) -> InvoiceLine:
    """The unsaved row of `line` (on `invoice`, or pending for the next one when None)."""
    return InvoiceLine(subscription=sub, invoice=invoice, description=line.description[:300],
                       period_start=line.period_start, period_end=line.period_end, quantity=line.quantity,
                       unit_amount=line.unit_amount, amount=line.amount, currency=line.currency,
                       proration=line.proration, plan_id=line.plan_id, created=now)


def _add_lines(sub: Subscription, lines: list[Line], invoice: Invoice | None) -> list[InvoiceLine]:
    if not lines:
        return []
    now = clock.now()
    return InvoiceLine.objects.bulk_create([_line_row(sub, line, invoice, now) for line in lines])


def _invoice_row(*, sub: Subscription, reason: str, period_start: dt.datetime, period_end: dt.datetime,
                total: int, now: dt.datetime) -> Invoice:
    """The unsaved invoice, before `_open_invoice` finalises it."""
    return Invoice(subscription=sub, customer_id=sub.customer_id, billing_reason=reason, currency=sub.plan.currency,
                   period_start=period_start, period_end=period_end, subtotal=total, total=total, created=now,
                   updated=now)


def _open_invoice(invoice: Invoice, now: dt.datetime, number: str, collect_from: dt.datetime | None = None) -> None:
    """Finalises in memory: the number, open (paid at once when the total is 0), collected from `collect_from`."""
    invoice.number = number
    invoice.status, invoice.finalized_at, invoice.due_date = Invoice.Status.OPEN, now, now
    if invoice.total == 0:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, now
    elif collect_from is not None:
        invoice.next_payment_attempt = collect_from


def _finalized_event(invoice: Invoice, actor: Actor) -> AuditEvent:
    return audit_build(action=SubscriptionsAction.INVOICE_FINALIZED, actor=actor, obj=invoice,
                       details={"number": invoice.number, "total": invoice.total, "currency": invoice.currency})


@dataclass
class _Draft:
    """An invoice to build: its subscription, why, the period it covers and its own lines;
    `collect_from` is when the billing run should first collect it (None: the caller does)."""

    sub: Subscription
    reason: str
    period_start: dt.datetime
    period_end: dt.datetime
    lines: list[Line]
    collect_from: dt.datetime | None = None


def _invoices_build(drafts: list[_Draft], actor: Actor) -> list[Invoice]:
    """Finalised invoices with each draft's lines plus its subscription's pending items, written with
    multi-row statements. Credits beyond the charges are carried forward as a pending credit, so an
    invoice total is never negative. The numbers are taken last, so the year's counter row stays
    locked only for the moments before the caller's transaction commits (gapless: a rollback gives
    them back)."""
    require_transaction()
    now = clock.now()
    pending: dict[str, list[tuple[int, int]]] = {}
    for pk, sub_id, amount in InvoiceLine.objects.filter(
            subscription_id__in=[d.sub.id for d in drafts], invoice__isnull=True).values_list(
            "id", "subscription_id", "amount"):
        pending.setdefault(sub_id, []).append((pk, amount))
    invoices, rows, moved = [], [], []
    for draft in drafts:
        sub, items = draft.sub, pending.get(draft.sub.id, [])
        subtotal = sum(line.amount for line in draft.lines) + sum(amount for _, amount in items)
        carry_in, carry_out = [], []
        if subtotal < 0:
            currency = sub.plan.currency
            carry_in = [Line("Unused credit carried to the next invoice", draft.period_start, draft.period_end, 1,
                             -subtotal, -subtotal, currency, False, "")]
            carry_out = [Line("Credit from an earlier invoice", draft.period_start, draft.period_end, 1, subtotal,
                              subtotal, currency, False, "")]
            subtotal = 0
        invoice = _invoice_row(sub=sub, reason=draft.reason, period_start=draft.period_start,
                               period_end=draft.period_end, total=subtotal, now=now)
        invoices.append(invoice)
        rows += [_line_row(sub, line, invoice, now) for line in draft.lines + carry_in]
        rows += [_line_row(sub, line, None, now) for line in carry_out]
        moved += [InvoiceLine(pk=pk, invoice=invoice) for pk, _ in items]
    for invoice, number, draft in zip(invoices, take_numbers(now.year, len(invoices)), drafts, strict=True):
        _open_invoice(invoice, now, number, draft.collect_from)
    Invoice.objects.bulk_create(invoices)
    if rows:
        InvoiceLine.objects.bulk_create(rows)
    update_rows(InvoiceLine, moved, ["invoice"])
    AuditEvent.objects.bulk_create([_finalized_event(invoice, actor) for invoice in invoices])
    _emit_invoice_events(invoices, actor, InvoicesEvent.INVOICE_CREATED, InvoicesEvent.INVOICE_FINALIZED)
    _emit_invoice_events([i for i in invoices if i.status == Invoice.Status.PAID], actor, InvoicesEvent.INVOICE_PAID)
    return invoices


def _emit_invoice_events(invoices: list[Invoice], actor: Actor, *types: InvoicesEvent) -> None:
    """The events of a batch of invoices, in one statement; their lines read in one query for all."""
    if not invoices:
        return
    prefetch_related_objects(invoices, "lines")
    emit_many([build(kind, invoice, actor=actor) for invoice in invoices for kind in types])


def _invoice_build(*, sub: Subscription, reason: str, period_start: dt.datetime, period_end: dt.datetime,
                   lines: list[Line], actor: Actor, collect_from: dt.datetime | None = None) -> Invoice:
    """One invoice: `_invoices_build` with a list of one."""
    return _invoices_build([_Draft(sub, reason, period_start, period_end, lines, collect_from)], actor)[0]


def _finalize(invoice: Invoice, actor: Actor) -> Invoice:
    """Finalises a draft (drafts come only from staff tools; the services build final invoices)."""
    require_transaction()
    if invoice.status != Invoice.Status.DRAFT:
        raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
    now = clock.now()
    _open_invoice(invoice, now, _take_number(now.year))
    touch(invoice, "number", "status", "finalized_at", "due_date", "paid_at")
    _finalized_event(invoice, actor).save(force_insert=True)
    paid = (InvoicesEvent.INVOICE_PAID,) if invoice.status == Invoice.Status.PAID else ()
    _emit_invoice_events([invoice], actor, InvoicesEvent.INVOICE_FINALIZED, *paid)
    return invoice


@use_case
def invoice_finalize(*, actor: Actor, invoice_id: str) -> Invoice:
    return _finalize(lock_invoice(invoice_id), actor)


@use_case
def invoice_void(*, actor: Actor, invoice_id: str) -> Invoice:
    invoice = lock_invoice(invoice_id)
    _void(invoice, actor)
    return invoice


def _void(invoice: Invoice, actor: Actor) -> None:
    require_transaction()
    if invoice.status not in (Invoice.Status.DRAFT, Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE):
        raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
    invoice.status, invoice.voided_at, invoice.next_payment_attempt = Invoice.Status.VOID, clock.now(), None
    touch(invoice, "status", "voided_at", "next_payment_attempt")
    audit_record(action=SubscriptionsAction.INVOICE_VOIDED, actor=actor, obj=invoice)
    emit(InvoicesEvent.INVOICE_VOIDED, invoice, actor=actor)


@use_case
def invoice_mark_uncollectible(*, actor: Actor, invoice_id: str) -> Invoice:
    invoice = lock_invoice(invoice_id)
    if invoice.status != Invoice.Status.OPEN:
        raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
    invoice.status, invoice.next_payment_attempt = Invoice.Status.UNCOLLECTIBLE, None
    touch(invoice, "status", "next_payment_attempt")
    audit_record(action=SubscriptionsAction.INVOICE_MARKED_UNCOLLECTIBLE, actor=actor, obj=invoice)
    return invoice
