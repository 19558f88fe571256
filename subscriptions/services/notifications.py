"""The customer e-mails of collection and dunning: recorded in the transaction that decides to
send them, with an outbox message to send them (`core.outbox`), and sent after it commits by whichever
comes first: the deciding process right away, or the task the relay hands to a worker. A send that
fails (mail server down) or a crash before it is retried by the task; the row's lock and its `sent`
stamp make each e-mail go out once (a crash between the send and the stamp can repeat it)."""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from core import clock
from core.db import run_in_transaction
from core.money import format_amount
from core.outbox import enqueue

from ..models import Invoice, Notification, Subscription

logger = logging.getLogger("subscriptions")
SEND_TASK = "subscriptions.send_notification"


def _queue(*, sub: Subscription, invoice: Invoice | None, kind: str, subject: str, body: str) -> int | None:
    """The notification's id, recorded in the caller's transaction; None when the customer has no address."""
    to = sub.customer.email
    if not to:
        return None
    note = Notification.objects.create(subscription=sub, invoice=invoice, kind=kind, to=to, subject=subject,
                                       body=body, created=clock.now())
    enqueue(SEND_TASK, note.pk)
    return note.pk


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
    """Sends recorded notifications now (the fast path after the deciding commit); one that fails stays
    unsent for its outbox task to retry."""
    sent = 0
    for pk in ids:
        if pk is None:
            continue
        try:
            sent += _send_one(pk)
        except OSError:
            logger.exception("notification not sent; its task retries", extra={"notification": pk})
    return sent


def _send_one(pk: int) -> int:
    """Sends one recorded notification unless it was sent: 1 when this call sent it. The row stays
    locked while the mail goes out, so the fast path and the task never both send it."""

    def send() -> int:
        note = Notification.objects.select_for_update().filter(pk=pk, sent__isnull=True).first()
        if note is None:
            return 0
        send_mail(note.subject, note.body, None, [note.to])
        Notification.objects.filter(pk=pk).update(sent=clock.now())
        return 1

    return run_in_transaction(send)
