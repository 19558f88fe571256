"""Invoices: built from lines, finalised with a gapless number, then only paid, voided or
written off. A final invoice is never edited: corrections are lines on a later invoice."""

from __future__ import annotations

import datetime as dt

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, run_in_transaction

from ..errors import InvoiceStateError
from ..models import Invoice, InvoiceLine, InvoiceSequence, Subscription
from ..proration import Line
from .common import lock_invoice, save


def take_number(year: int) -> str:
    """Next number of the UTC year under the counter row's lock: gapless because the number is
    taken inside the finalising transaction and rolls back with it."""
    require_transaction()
    InvoiceSequence.objects.bulk_create([InvoiceSequence(year=year, last=0)], ignore_conflicts=True)
    seq = InvoiceSequence.objects.select_for_update().get(year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"INV-{year}-{seq.last:06d}"


def add_lines(sub: Subscription, lines: list[Line], invoice: Invoice | None) -> list[InvoiceLine]:
    now = clock.now()
    return InvoiceLine.objects.bulk_create([
        InvoiceLine(subscription=sub, invoice=invoice, description=line.description[:300],
                    period_start=line.period_start, period_end=line.period_end, quantity=line.quantity,
                    unit_amount=line.unit_amount, amount=line.amount, currency=line.currency,
                    proration=line.proration, plan_id=line.plan_id, created=now)
        for line in lines])


def invoice_build(*, sub: Subscription, reason: str, period_start: dt.datetime, period_end: dt.datetime,
                  lines: list[Line], include_pending: bool = True) -> Invoice:
    """A draft with `lines` plus the subscription's pending items. Credits beyond the charges are
    carried forward as a pending credit, so an invoice total is never negative."""
    require_transaction()
    now = clock.now()
    invoice = Invoice.objects.create(
        subscription=sub, customer_id=sub.customer_id, status=Invoice.Status.DRAFT, billing_reason=reason,
        currency=sub.plan.currency, period_start=period_start, period_end=period_end, created=now, updated=now)
    add_lines(sub, lines, invoice)
    if include_pending:
        InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True).update(invoice=invoice)
    _total(invoice, sub)
    return invoice


def _total(invoice: Invoice, sub: Subscription) -> None:
    amounts = list(invoice.lines.values_list("amount", flat=True))
    subtotal = sum(amounts)
    if subtotal < 0:
        carry = Line("Unused credit carried to the next invoice", invoice.period_start, invoice.period_end, 1,
                     -subtotal, -subtotal, invoice.currency, False, "")
        add_lines(sub, [carry], invoice)
        add_lines(sub, [Line("Credit from an earlier invoice", invoice.period_start, invoice.period_end, 1,
                             subtotal, subtotal, invoice.currency, False, "")], None)
        subtotal = 0
    invoice.subtotal = invoice.total = subtotal
    save(invoice, "subtotal", "total")


def finalize(invoice: Invoice, actor: Actor) -> Invoice:
    require_transaction()
    if invoice.status != Invoice.Status.DRAFT:
        raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
    now = clock.now()
    invoice.number = take_number(now.year)
    invoice.status, invoice.finalized_at, invoice.due_date = Invoice.Status.OPEN, now, now
    fields = ["number", "status", "finalized_at", "due_date"]
    if invoice.total == 0:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, now
        fields.append("paid_at")
    save(invoice, *fields)
    audit_record(action="invoice.finalized", actor=actor, obj=invoice,
                 details={"number": invoice.number, "total": invoice.total, "currency": invoice.currency})
    return invoice


def invoice_finalize(*, actor: Actor, invoice_id: str) -> Invoice:
    return run_in_transaction(lambda: finalize(lock_invoice(invoice_id), actor))


def invoice_void(*, actor: Actor, invoice_id: str) -> Invoice:
    def write() -> Invoice:
        invoice = lock_invoice(invoice_id)
        void(invoice, actor)
        return invoice
    return run_in_transaction(write)


def void(invoice: Invoice, actor: Actor) -> None:
    if invoice.status not in (Invoice.Status.DRAFT, Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE):
        raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
    invoice.status, invoice.voided_at, invoice.next_payment_attempt = Invoice.Status.VOID, clock.now(), None
    save(invoice, "status", "voided_at", "next_payment_attempt")
    audit_record(action="invoice.voided", actor=actor, obj=invoice)


def invoice_mark_uncollectible(*, actor: Actor, invoice_id: str) -> Invoice:
    def write() -> Invoice:
        invoice = lock_invoice(invoice_id)
        if invoice.status != Invoice.Status.OPEN:
            raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
        invoice.status, invoice.next_payment_attempt = Invoice.Status.UNCOLLECTIBLE, None
        save(invoice, "status", "next_payment_attempt")
        audit_record(action="invoice.marked_uncollectible", actor=actor, obj=invoice)
        return invoice
    return run_in_transaction(write)
