"""The customer e-mails of collection and dunning: recorded in the transaction that decides to
send them, sent after it commits (a rolled-back decision sends nothing)."""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from core import clock
from core.db import run_in_transaction
from core.money import format_amount

from ..models import Invoice, Notification, Subscription

logger = logging.getLogger("subscriptions")


def _queue(*, sub: Subscription, invoice: Invoice | None, kind: str, subject: str, body: str) -> int | None:
    """The notification's id, recorded in the caller's transaction; None when the customer has no address."""
    to = sub.customer.email
    if not to:
        return None
    return Notification.objects.create(subscription=sub, invoice=invoice, kind=kind, to=to, subject=subject,
                                       body=body, created=clock.now()).pk


def _due(invoice: Invoice) -> str:
    return f"{format_amount(invoice.total, invoice.currency)} {invoice.currency}"


def _payment_recovered(sub: Subscription, invoice: Invoice) -> int | None:
    return _queue(sub=sub, invoice=invoice, kind="payment_recovered",
                  subject=f"Payment received for invoice {invoice.number}",
                  body=f"Thank you: {_due(invoice)} was paid. Your subscription is active.")


def _payment_failed(sub: Subscription, invoice: Invoice, message: str) -> int | None:
    return _queue(sub=sub, invoice=invoice, kind="payment_failed",
                  subject=f"Payment failed for invoice {invoice.number}",
                  body=f"We could not collect {_due(invoice)} ({message}). "
                       f"We will try again on {invoice.next_payment_attempt:%Y-%m-%d}.")


def _dunning_ended(sub: Subscription, invoice: Invoice, *, final: str, hard: bool, message: str) -> int | None:
    why = "the card cannot be charged" if hard else "all retries failed"
    return _queue(sub=sub, invoice=invoice, kind=f"subscription_{final}",
                  subject=f"Invoice {invoice.number} could not be paid",
                  body=f"We could not collect {_due(invoice)}: {why} ({message}). Your subscription is now "
                       f"{sub.status}; update your payment method and pay the invoice to continue.")


def _deliver(ids: list[int | None]) -> int:
    """Sends recorded notifications through Django's mail backend; a failed send stays unsent."""
    sent = 0
    for note in Notification.objects.filter(pk__in=[i for i in ids if i], sent__isnull=True):
        try:
            send_mail(note.subject, note.body, None, [note.to])
        except OSError:
            logger.exception("notification not sent", extra={"notification": note.pk})
            continue
        run_in_transaction(lambda n=note: Notification.objects.filter(pk=n.pk).update(sent=clock.now()))
        sent += 1
    return sent
