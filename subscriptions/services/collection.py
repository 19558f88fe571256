"""Collecting invoices and dunning.

An attempt is claimed (row written, invoice leased) in one transaction, charged through
`payments.services.payment_create` outside any transaction (a provider call must not hold
locks), and settled in a third. A crash between them leaves a pending attempt that the next
collection settles from the payment it finds by metadata, so an invoice is never charged
twice. Dunning follows the staff-editable schedule (`DunningSettings`): retries on days
after the first failure, none after a hard decline, then the configured final action.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q

from core import clock
from core.audit import audit_build, audit_record
from core.context import Actor
from core.db import run_in_transaction, update_rows
from core.errors import DomainError
from core.models import AuditEvent
from core.money import format_amount
from payments.models import Payment
from payments.services import ChargeRequest, payment_create_batch, payment_create_from_request

from ..errors import InvoiceStateError
from ..models import DunningSettings, Invoice, InvoiceAttempt, Subscription
from .common import deliver_notifications, lock_invoice, lock_subscription, queue_notification, record_event, save

logger = logging.getLogger("subscriptions")

# Declines that retrying cannot fix (Stripe Smart Retries skips these too); everything else is soft.
HARD_DECLINE_CODES = frozenset({
    "expired_card", "lost_card", "stolen_card", "pickup_card", "fraudulent", "incorrect_number",
    "invalid_account", "card_not_supported", "blocked_by_risk", "restricted_card", "revocation_of_authorization",
    "no_payment_method", "wallet_frozen", "not_found", "currency_mismatch", "validation_error",
})
LEASE = dt.timedelta(minutes=15)
DEFAULT_RETRY_DAYS = [1, 3, 7, 14]
# Subscription statuses a paid invoice returns to active (when no other invoice is open).
OWING = (Subscription.Status.INCOMPLETE, Subscription.Status.PAST_DUE, Subscription.Status.UNPAID)


def dunning_settings() -> DunningSettings:
    """The newest settings row; the default (4 retries over 14 days, then unpaid) when none."""
    current = DunningSettings.objects.order_by("-created", "-id").first()
    return current or DunningSettings(retry_days=DEFAULT_RETRY_DAYS, final_action="unpaid", created=clock.now())


@dataclass
class Outcome:
    invoice_id: str
    status: str  # paid, failed, pending, skipped
    failure_code: str = ""


def claim(invoice: Invoice, *, manual: bool) -> InvoiceAttempt | None:
    """Inside the caller's transaction, with the invoice locked: settle leftovers, then open an attempt."""
    attempts = list(invoice.attempts.all())
    for pending in [a for a in attempts if a.status == InvoiceAttempt.Status.PENDING]:
        if _settle_from_payment(invoice, pending) == "pending":
            invoice.next_payment_attempt = clock.now() + LEASE
            save(invoice, "next_payment_attempt")
            return None
        if invoice.status != Invoice.Status.OPEN:
            return None
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE) or (
            invoice.status == Invoice.Status.UNCOLLECTIBLE and not manual):
        if manual:
            raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
        return None
    number = len(attempts) + 1
    attempt = InvoiceAttempt.objects.create(invoice=invoice, number=number, status=InvoiceAttempt.Status.PENDING,
                                            created=clock.now())
    invoice.next_payment_attempt = clock.now() + LEASE
    save(invoice, "next_payment_attempt")
    return attempt


def claim_many(invoices: list[Invoice]) -> list[InvoiceAttempt | None]:
    """`claim` for a chunk of locked open invoices: those with no leftover attempt to settle get their
    next attempt and lease with multi-row statements; the others go through `claim`."""
    counts = {row["invoice_id"]: (row["n"], row["pending"]) for row in InvoiceAttempt.objects
              .filter(invoice_id__in=[i.id for i in invoices]).order_by().values("invoice_id")
              .annotate(n=Count("id"), pending=Count("id", filter=Q(status=InvoiceAttempt.Status.PENDING)))}
    now = clock.now()
    fresh = {}
    for invoice in invoices:
        tried, pending = counts.get(invoice.id, (0, 0))
        if not pending and invoice.status == Invoice.Status.OPEN:
            fresh[invoice.id] = InvoiceAttempt(invoice=invoice, number=tried + 1,
                                               status=InvoiceAttempt.Status.PENDING, created=now)
            invoice.next_payment_attempt, invoice.updated = now + LEASE, now
    InvoiceAttempt.objects.bulk_create(list(fresh.values()))
    update_rows(Invoice, [i for i in invoices if i.id in fresh], ["next_payment_attempt", "updated"])
    return [fresh[i.id] if i.id in fresh else claim(i, manual=False) for i in invoices]


def _settle_from_payment(invoice: Invoice, attempt: InvoiceAttempt) -> str:
    payment = Payment.objects.filter(metadata__invoice_attempt_id=attempt.id).order_by("created").first()
    if payment is None:
        if attempt.created > clock.now() - LEASE:
            return "pending"
        # Claimed, never charged (crash before the call): closes without counting as a decline.
        attempt.status, attempt.failure_code, attempt.settled = InvoiceAttempt.Status.FAILED, "interrupted", clock.now()
        attempt.save(update_fields=["status", "failure_code", "settled"])
        return "interrupted"
    if payment.status not in (Payment.Status.SUCCEEDED, Payment.Status.FAILED):
        return "pending"
    apply_payment(invoice, attempt, payment, Actor.system("billing"))
    return invoice.status


def charge_request(invoice: Invoice, attempt: InvoiceAttempt) -> ChargeRequest | DomainError:
    sub = invoice.subscription
    if sub.wallet_id:
        method, source = "wallet", sub.wallet_id
    elif sub.payment_method:
        method, source = "card", sub.payment_method
    else:
        return DomainError("The subscription has no payment source.", code="no_payment_method")
    return ChargeRequest(customer_id=invoice.customer_id, amount=invoice.total, currency=invoice.currency,
                         method=method, payment_method=source, description=f"Invoice {invoice.number}",
                         metadata={"invoice_id": invoice.id, "invoice_attempt_id": attempt.id,
                                   "subscription_id": sub.id})


def charge(invoice: Invoice, attempt: InvoiceAttempt, actor: Actor) -> Payment | DomainError:
    # A DomainError (no source, wallet gone, currency changed): the source is unusable, a decline of this attempt.
    req = charge_request(invoice, attempt)
    return req if isinstance(req, DomainError) else payment_create_from_request(actor=actor, request=req)


PAID_ATTEMPT_FIELDS = ["status", "payment_id", "settled"]
PAID_INVOICE_FIELDS = ["attempt_count", "status", "amount_paid", "paid_at", "payment_id", "next_payment_attempt",
                       "updated"]


def _mark_paid(invoice: Invoice, attempt: InvoiceAttempt, payment: Payment, actor: Actor,
               now: dt.datetime) -> AuditEvent:
    """A paid attempt's changes in memory (`PAID_*_FIELDS`) and its unsaved audit event: the caller
    writes them, one invoice at a time (`apply_payment`) or a chunk at once (`_settle_paid_many`)."""
    attempt.status, attempt.payment_id, attempt.settled = InvoiceAttempt.Status.SUCCEEDED, payment.id, now
    invoice.attempt_count += 1
    invoice.status, invoice.amount_paid, invoice.paid_at = Invoice.Status.PAID, invoice.total, now
    invoice.payment_id, invoice.next_payment_attempt, invoice.updated = payment.id, None, now
    return audit_build(action="invoice.paid", actor=actor, obj=invoice, details={"payment_id": payment.id})


def apply_payment(invoice: Invoice, attempt: InvoiceAttempt, result: Payment | DomainError, actor: Actor, *,
                  sub: Subscription | None = None, config: DunningSettings | None = None) -> list[int]:
    """Settles one attempt (invoice locked by the caller); returns notifications to send. A caller
    settling a chunk passes the invoice's subscription, already locked, and the dunning settings."""
    now = clock.now()
    sub = sub or lock_subscription(invoice.subscription_id)
    notes = []
    attempt.settled = now
    if isinstance(result, Payment) and result.status == Payment.Status.SUCCEEDED:
        recovering = invoice.attempt_count > 0
        audit = _mark_paid(invoice, attempt, result, actor, now)
        attempt.save(update_fields=PAID_ATTEMPT_FIELDS)
        invoice.save(update_fields=PAID_INVOICE_FIELDS)
        audit.save(force_insert=True)
        if sub.status in OWING and not sub.invoices.filter(status=Invoice.Status.OPEN).exclude(pk=invoice.pk).exists():
            was = sub.status
            sub.status = Subscription.Status.ACTIVE
            save(sub, "status")
            record_event(sub, "activated" if was == Subscription.Status.INCOMPLETE else "recovered")
        if recovering:
            note = queue_notification(sub=sub, invoice=invoice, kind="payment_recovered",
                                      subject=f"Payment received for invoice {invoice.number}",
                                      body=f"Thank you: {format_amount(invoice.total, invoice.currency)} "
                                           f"{invoice.currency} was paid. Your subscription is active.")
            notes.append(note)
        return [n.pk for n in notes if n]
    code = result.failure_code if isinstance(result, Payment) else result.code
    message = result.failure_message if isinstance(result, Payment) else result.message
    hard = code in HARD_DECLINE_CODES
    attempt.status, attempt.failure_code, attempt.failure_message = InvoiceAttempt.Status.FAILED, code, message[:300]
    attempt.hard_decline, attempt.payment_id = hard, result.id if isinstance(result, Payment) else ""
    attempt.save(update_fields=["status", "failure_code", "failure_message", "hard_decline", "payment_id",
                                "settled"])
    invoice.attempt_count += 1
    invoice.first_failed_at = invoice.first_failed_at or now
    invoice.last_failure_code = code
    audit_record(action="invoice.payment_failed", actor=actor, obj=invoice,
                 details={"failure_code": code, "attempt": invoice.attempt_count, "hard": hard})
    if sub.status == Subscription.Status.INCOMPLETE:
        # The first payment: no dunning; the customer pays within 23 h or the subscription expires.
        invoice.next_payment_attempt = None
        save(invoice, "attempt_count", "first_failed_at", "last_failure_code", "next_payment_attempt")
        return []
    config = config or dunning_settings()
    retries_done = invoice.attempt_count - 1
    if not hard and retries_done < len(config.retry_days):
        invoice.next_payment_attempt = invoice.first_failed_at + dt.timedelta(days=config.retry_days[retries_done])
        save(invoice, "attempt_count", "first_failed_at", "last_failure_code", "next_payment_attempt")
        if sub.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
            sub.status = Subscription.Status.PAST_DUE
            save(sub, "status")
            record_event(sub, "past_due")
        if config.notify_customers:
            notes.append(queue_notification(
                sub=sub, invoice=invoice, kind="payment_failed",
                subject=f"Payment failed for invoice {invoice.number}",
                body=f"We could not collect {format_amount(invoice.total, invoice.currency)} {invoice.currency} "
                     f"({message}). We will try again on {invoice.next_payment_attempt:%Y-%m-%d}."))
        return [n.pk for n in notes if n]
    invoice.next_payment_attempt = None
    fields = ["attempt_count", "first_failed_at", "last_failure_code", "next_payment_attempt"]
    if config.mark_uncollectible:
        invoice.status = Invoice.Status.UNCOLLECTIBLE
        fields.append("status")
    save(invoice, *fields)
    final = config.final_action
    if final == DunningSettings.FinalAction.CANCELED:
        sub.status, sub.canceled_at, sub.ended_at = Subscription.Status.CANCELED, now, now
        save(sub, "status", "canceled_at", "ended_at")
    elif final == DunningSettings.FinalAction.UNPAID:
        sub.status = Subscription.Status.UNPAID
        save(sub, "status")
    else:
        sub.status = Subscription.Status.PAST_DUE
        save(sub, "status")
    record_event(sub, f"dunning_{final}")
    audit_record(action="subscription.dunning_ended", actor=actor, obj=sub,
                 details={"final_action": final, "hard_decline": hard, "invoice_id": invoice.id})
    if config.notify_customers:
        why = "the card cannot be charged" if hard else "all retries failed"
        notes.append(queue_notification(
            sub=sub, invoice=invoice, kind=f"subscription_{final}",
            subject=f"Invoice {invoice.number} could not be paid",
            body=f"We could not collect {format_amount(invoice.total, invoice.currency)} {invoice.currency}: "
                 f"{why} ({message}). Your subscription is now {sub.status}; update your payment method "
                 f"and pay the invoice to continue."))
    return [n.pk for n in notes if n]


def collect(invoice_id: str, *, actor: Actor, manual: bool = False) -> Outcome:
    """One attempt at an invoice, as three short transactions (claim, charge, settle)."""
    def do_claim():
        invoice = lock_invoice(invoice_id)
        return invoice, claim(invoice, manual=manual)

    invoice, attempt = run_in_transaction(do_claim)
    if attempt is None:
        return Outcome(invoice_id, invoice.status if invoice.status == Invoice.Status.PAID else "skipped")
    return charge_and_settle(invoice, attempt, actor)


def _settle_one(locked: Invoice, attempt: InvoiceAttempt, result: Payment | DomainError, actor: Actor,
                **chunk) -> list[int]:
    if isinstance(result, Payment) and result.status not in (Payment.Status.SUCCEEDED, Payment.Status.FAILED):
        # Unknown or processing: the attempt stays pending and the next collection settles it.
        attempt.payment_id = result.id
        attempt.save(update_fields=["payment_id"])
        return []
    return apply_payment(locked, attempt, result, actor, **chunk)


def _outcome(locked: Invoice, attempt: InvoiceAttempt) -> Outcome:
    if locked.status == Invoice.Status.PAID:
        return Outcome(locked.id, "paid")
    if attempt.status == InvoiceAttempt.Status.PENDING:
        return Outcome(locked.id, "pending")
    return Outcome(locked.id, "failed", attempt.failure_code)


def charge_and_settle(invoice: Invoice, attempt: InvoiceAttempt, actor: Actor) -> Outcome:
    result = charge(invoice, attempt, actor)

    def settle():
        locked = lock_invoice(invoice.id)
        return locked, _settle_one(locked, attempt, result, actor)

    locked, notes = run_in_transaction(settle)
    deliver_notifications(notes)
    return _outcome(locked, attempt)


def charge_and_settle_many(claimed: list[tuple[Invoice, InvoiceAttempt]], actor: Actor) -> list[Outcome | Exception]:
    """`charge_and_settle` for a chunk: one batch charge through `payments`, then one transaction that
    settles every attempt (each in its own savepoint, so one invoice's failure leaves only its attempt
    pending for the next run). The outcome, or the exception that stopped it, per claimed invoice."""
    requests = [charge_request(invoice, attempt) for invoice, attempt in claimed]
    batch = [r for r in requests if isinstance(r, ChargeRequest)]
    charged = iter(payment_create_batch(actor=actor, requests=batch) if batch else [])
    results = [r if isinstance(r, DomainError) else next(charged) for r in requests]

    def settle():
        ids = sorted(invoice.id for invoice, _ in claimed)
        # Bare rows on the hot path: plan and customer are read lazily by the rare branches that need
        # them (recovery events, dunning e-mails).
        locked = {i.pk: i for i in Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        subs = {s.pk: s for s in Subscription.objects.select_for_update()
                .filter(pk__in=sorted({i.subscription_id for i in locked.values()})).order_by("pk")}
        fast = _settle_paid_many(claimed, results, locked, subs, actor)
        config = dunning_settings() if len(fast) < len(claimed) else None
        outcomes: list[Outcome | Exception]
        notes, outcomes = [], []
        for (invoice, attempt), result in zip(claimed, results, strict=True):
            if attempt.id in fast:
                outcomes.append(_outcome(locked[invoice.id], attempt))
                continue
            try:
                with transaction.atomic():
                    notes += _settle_one(locked[invoice.id], attempt, result, actor,
                                         sub=subs[invoice.subscription_id], config=config)
            except Exception as exc:
                logger.exception("settling failed", extra={"invoice": invoice.id})
                outcomes.append(exc)
                continue
            outcomes.append(_outcome(locked[invoice.id], attempt))
        return notes, outcomes

    notes, outcomes = run_in_transaction(settle)
    deliver_notifications(notes)
    return outcomes


def _settle_paid_many(claimed, results, locked: dict[str, Invoice], subs: dict[str, Subscription],
                      actor: Actor) -> set[str]:
    """`apply_payment`'s success branch for the common case, with multi-row statements: a first
    attempt paid for a subscription in good standing (nothing to recover, no e-mail). Returns the
    attempt ids it settled; every other attempt goes through `apply_payment`."""
    paid = [(locked[invoice.id], attempt, result) for (invoice, attempt), result in zip(claimed, results, strict=True)
            if isinstance(result, Payment) and result.status == Payment.Status.SUCCEEDED
            and locked[invoice.id].attempt_count == 0 and subs[invoice.subscription_id].status not in OWING]
    if not paid:
        return set()
    now = clock.now()
    audits = [_mark_paid(invoice, attempt, payment, actor, now) for invoice, attempt, payment in paid]
    update_rows(InvoiceAttempt, [a for _, a, _ in paid], PAID_ATTEMPT_FIELDS)
    update_rows(Invoice, [i for i, _, _ in paid], PAID_INVOICE_FIELDS)
    AuditEvent.objects.bulk_create(audits)
    return {a.id for _, a, _ in paid}


def invoice_pay(*, actor: Actor, invoice_id: str) -> Invoice:
    """Attempts payment now with the subscription's payment source (open or uncollectible invoices)."""
    collect(invoice_id, actor=actor, manual=True)
    return Invoice.objects.get(pk=invoice_id)
