"""Collecting invoices: claim an attempt, charge it, settle the answer.

An attempt is claimed (row written, invoice leased) in one transaction, charged through
`payments` outside any transaction (a provider call must not hold locks), and settled in a
third. A crash between them leaves a pending attempt that the next collection settles from the
payment it finds by metadata, so an invoice is never charged twice. One invoice (`invoice_pay`,
a new subscription's first invoice) is settled as a chunk of one: the billing run's chunk and a
single invoice follow the same rules, written by the same code. A decline goes to `dunning`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q

from core import clock
from core.audit import audit_build
from core.context import Actor
from core.db import require_transaction, run_in_transaction, update_rows, use_case
from core.errors import DomainError
from core.models import AuditEvent, touch
from payments.models import Payment
from payments.services import ChargeRequest, payment_create_batch, payment_create_from_request

from ..audit import SubscriptionsAction
from ..errors import InvoiceStateError, NoPaymentMethod
from ..events import InvoicesEvent
from ..models import DunningSettings, Invoice, InvoiceAttempt, Subscription
from ..selectors import dunning_settings_get
from . import notifications
from .common import _record_event, lock_invoice, lock_subscription
from .dunning import _settle_failed
from .invoices import _emit_invoice_events

logger = logging.getLogger("subscriptions")

LEASE = dt.timedelta(minutes=15)
# Subscription statuses a paid invoice returns to active (when no other invoice is open).
OWING = (Subscription.Status.INCOMPLETE, Subscription.Status.PAST_DUE, Subscription.Status.UNPAID)
_PAID_ATTEMPT_FIELDS = ["status", "payment_id", "settled"]
_PAID_INVOICE_FIELDS = ["attempt_count", "status", "amount_paid", "paid_at", "payment_id", "next_payment_attempt",
                        "updated"]
_SETTLED = (Payment.Status.SUCCEEDED, Payment.Status.FAILED)


@dataclass
class _Outcome:
    invoice_id: str
    status: str  # paid, failed, pending, skipped
    failure_code: str = ""


# --- claim ---------------------------------------------------------------------------------


def _claim(invoice: Invoice, *, manual: bool) -> InvoiceAttempt | None:
    """Inside the caller's transaction, with the invoice locked: settle leftovers, then open an attempt."""
    attempts = list(invoice.attempts.all())
    for pending in [a for a in attempts if a.status == InvoiceAttempt.Status.PENDING]:
        if _settle_from_payment(invoice, pending) == "pending":
            invoice.next_payment_attempt = clock.now() + LEASE
            touch(invoice, "next_payment_attempt")
            return None
        if invoice.status != Invoice.Status.OPEN:
            return None
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE) or (
            invoice.status == Invoice.Status.UNCOLLECTIBLE and not manual):
        if manual:
            raise InvoiceStateError(details={"invoice_id": invoice.id, "status": invoice.status})
        return None
    attempt = InvoiceAttempt.objects.create(invoice=invoice, number=len(attempts) + 1,
                                            status=InvoiceAttempt.Status.PENDING, created=clock.now())
    invoice.next_payment_attempt = clock.now() + LEASE
    touch(invoice, "next_payment_attempt")
    return attempt


def _claim_many(invoices: list[Invoice], actor: Actor) -> list[InvoiceAttempt | None]:
    """`_claim` for a chunk of locked open invoices: those with no leftover attempt to settle get their
    next attempt and lease with multi-row statements; the others go through `_claim`."""
    require_transaction()
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
    claimed = [fresh[i.id] if i.id in fresh else _claim(i, manual=False) for i in invoices]
    AuditEvent.objects.bulk_create([_attempted(invoice, attempt, actor)
                                    for invoice, attempt in zip(invoices, claimed, strict=True) if attempt is not None])
    return claimed


def _attempted(invoice: Invoice, attempt: InvoiceAttempt, actor: Actor) -> AuditEvent:
    """The attempt is opened (and the invoice leased) before the provider is called: its own event, in
    the claiming transaction."""
    return audit_build(action=SubscriptionsAction.INVOICE_PAYMENT_ATTEMPTED, actor=actor, obj=invoice,
                       details={"attempt": attempt.number})


def _settle_from_payment(invoice: Invoice, attempt: InvoiceAttempt) -> str:
    payment = Payment.objects.filter(metadata__invoice_attempt_id=attempt.id).order_by("created").first()
    if payment is None:
        if attempt.created > clock.now() - LEASE:
            return "pending"
        # Claimed, never charged (crash before the call): closes without counting as a decline.
        attempt.status, attempt.failure_code, attempt.settled = InvoiceAttempt.Status.FAILED, "interrupted", clock.now()
        attempt.save(update_fields=["status", "failure_code", "settled"])
        return "interrupted"
    if payment.status not in _SETTLED:
        return "pending"
    sub = lock_subscription(invoice.subscription_id)
    _apply([(invoice, attempt, payment)], {sub.id: sub}, Actor.system("billing"), isolate=False)
    return invoice.status


# --- charge --------------------------------------------------------------------------------


def _charge_request(invoice: Invoice, attempt: InvoiceAttempt) -> ChargeRequest | DomainError:
    sub = invoice.subscription
    if sub.wallet_id:
        method, source = "wallet", sub.wallet_id
    elif sub.payment_method:
        method, source = "card", sub.payment_method
    else:
        return NoPaymentMethod()
    return ChargeRequest(customer_id=invoice.customer_id, amount=invoice.total, currency=invoice.currency,
                         method=method, payment_method=source, description=f"Invoice {invoice.number}",
                         metadata={"invoice_id": invoice.id, "invoice_attempt_id": attempt.id,
                                   "subscription_id": sub.id})


def _charge(claimed: list[tuple[Invoice, InvoiceAttempt]], actor: Actor, *, chunk: bool) -> list[Payment | DomainError]:
    """The payment (or the refusal) of each claimed attempt: a billing run's chunk through the
    payments batch path, one invoice through the single payment path. A DomainError (no source,
    wallet gone, currency changed) means the source is unusable: a decline of that attempt."""
    requests = [_charge_request(invoice, attempt) for invoice, attempt in claimed]
    if not chunk:
        return [r if isinstance(r, DomainError) else payment_create_from_request(actor=actor, request=r)
                for r in requests]
    batch = [r for r in requests if isinstance(r, ChargeRequest)]
    charged = iter(payment_create_batch(actor=actor, requests=batch) if batch else [])
    return [r if isinstance(r, DomainError) else next(charged) for r in requests]


# --- settle --------------------------------------------------------------------------------


def _mark_paid(invoice: Invoice, attempt: InvoiceAttempt, payment: Payment, actor: Actor,
               now: dt.datetime) -> AuditEvent:
    attempt.status, attempt.payment_id, attempt.settled = InvoiceAttempt.Status.SUCCEEDED, payment.id, now
    invoice.attempt_count += 1
    invoice.status, invoice.amount_paid, invoice.paid_at = Invoice.Status.PAID, invoice.total, now
    invoice.payment_id, invoice.next_payment_attempt, invoice.updated = payment.id, None, now
    return audit_build(action=SubscriptionsAction.INVOICE_PAID, actor=actor, obj=invoice,
                       details={"payment_id": payment.id})


def _settle_paid(paid: list[tuple[Invoice, InvoiceAttempt, Payment]], subs: dict[str, Subscription],
                 actor: Actor, now: dt.datetime) -> list[int | None]:
    """Paid attempts (invoices and subscriptions locked), written with multi-row statements; an
    owing subscription with nothing left open is active again, and a customer whose earlier
    attempt failed is told it worked. Returns the notifications to send."""
    if not paid:
        return []
    audits = [_mark_paid(invoice, attempt, payment, actor, now) for invoice, attempt, payment in paid]
    update_rows(InvoiceAttempt, [a for _, a, _ in paid], _PAID_ATTEMPT_FIELDS)
    update_rows(Invoice, [i for i, _, _ in paid], _PAID_INVOICE_FIELDS)
    AuditEvent.objects.bulk_create(audits)
    _emit_invoice_events([i for i, _, _ in paid], actor, InvoicesEvent.INVOICE_PAID)
    owing = {i.subscription_id: subs[i.subscription_id] for i, _, _ in paid if subs[i.subscription_id].status in OWING}
    # One read for the chunk: which owing subscriptions still have an open invoice (the paid ones are written).
    still_open = set(Invoice.objects.filter(subscription_id__in=list(owing), status=Invoice.Status.OPEN)
                     .values_list("subscription_id", flat=True)) if owing else set()
    for sub in owing.values():
        if sub.pk not in still_open:
            was = sub.status
            sub.status = Subscription.Status.ACTIVE
            touch(sub, "status")
            _record_event(sub, "activated" if was == Subscription.Status.INCOMPLETE else "recovered")
    # attempt_count includes the paid attempt now: more than one means an earlier one failed.
    return [notifications._payment_recovered(subs[i.subscription_id], i) for i, _, _ in paid if i.attempt_count > 1]


def _settle_unpaid(invoice: Invoice, attempt: InvoiceAttempt, result: Payment | DomainError, sub: Subscription,
                   actor: Actor, now: dt.datetime, config: Callable[[], DunningSettings]) -> list[int | None]:
    if isinstance(result, Payment) and result.status not in _SETTLED:
        # Unknown or processing: the attempt stays pending and the next collection settles it.
        attempt.payment_id = result.id
        attempt.save(update_fields=["payment_id"])
        return []
    if isinstance(result, Payment):
        code, message, payment_id = result.failure_code, result.failure_message, result.id
    else:
        code, message, payment_id = result.code, result.message, ""
    return _settle_failed(invoice, attempt, sub, code=code, message=message, payment_id=payment_id, actor=actor,
                          now=now, config=config)


def _outcome(locked: Invoice, attempt: InvoiceAttempt) -> _Outcome:
    if locked.status == Invoice.Status.PAID:
        return _Outcome(locked.id, "paid")
    if attempt.status == InvoiceAttempt.Status.PENDING:
        return _Outcome(locked.id, "pending")
    return _Outcome(locked.id, "failed", attempt.failure_code)


def _apply(items: list[tuple[Invoice, InvoiceAttempt, Payment | DomainError]], subs: dict[str, Subscription],
           actor: Actor, *, isolate: bool) -> tuple[list[int | None], list[_Outcome | Exception]]:
    """Settles each (locked invoice, attempt, charge result). With `isolate`, each unpaid attempt is
    settled in its own savepoint, so one invoice's failure leaves only its attempt pending for the
    next run and is returned as its outcome; without, the failure propagates."""
    require_transaction()
    now = clock.now()
    paid = [(i, a, r) for i, a, r in items if isinstance(r, Payment) and r.status == Payment.Status.SUCCEEDED]
    notes = _settle_paid(paid, subs, actor, now)
    loaded: list[DunningSettings] = []

    def config() -> DunningSettings:
        # Read once per chunk, and only when a decline needs the schedule.
        if not loaded:
            loaded.append(dunning_settings_get())
        return loaded[0]

    done = {a.id for _, a, _ in paid}
    outcomes: list[_Outcome | Exception] = []
    for invoice, attempt, result in items:
        if attempt.id not in done:
            sub = subs[invoice.subscription_id]
            if not isolate:
                notes += _settle_unpaid(invoice, attempt, result, sub, actor, now, config)
            else:
                try:
                    with transaction.atomic():
                        notes += _settle_unpaid(invoice, attempt, result, sub, actor, now, config)
                except Exception as exc:
                    logger.exception("settling failed", extra={"invoice": invoice.id})
                    outcomes.append(exc)
                    continue
        outcomes.append(_outcome(invoice, attempt))
    return notes, outcomes


def _charge_and_settle(claimed: list[tuple[Invoice, InvoiceAttempt]], actor: Actor, *,
                       chunk: bool) -> list[_Outcome | Exception]:
    """Charges the claimed attempts, then settles them all in one transaction. The outcome per
    claimed invoice, or in a billing run's chunk the exception that stopped its settling."""
    results = _charge(claimed, actor, chunk=chunk)

    def settle():
        ids = sorted(invoice.id for invoice, _ in claimed)
        locked = {i.pk: i for i in Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        owners = Subscription.objects.select_for_update(of=("self",))
        if not chunk:
            # One invoice: its plan and customer in the same read. A chunk reads bare rows, and the
            # rare branches that need them (recovery events, dunning e-mails) read them lazily.
            owners = owners.select_related("plan", "customer")
        subs = {s.pk: s for s in owners.filter(pk__in=sorted({i.subscription_id for i in locked.values()}))
                .order_by("pk")}
        items = [(locked[invoice.id], attempt, result) for (invoice, attempt), result in zip(claimed, results,
                                                                                             strict=True)]
        return _apply(items, subs, actor, isolate=chunk)

    notes, outcomes = run_in_transaction(settle)
    notifications._deliver(notes)
    return outcomes


def _collect(invoice_id: str, *, actor: Actor, manual: bool = False) -> _Outcome:
    """One attempt at one invoice: the chunk path with a chunk of one."""
    def claim():
        invoice = lock_invoice(invoice_id)
        attempt = _claim(invoice, manual=manual)
        if attempt is not None:
            _attempted(invoice, attempt, actor).save(force_insert=True)
        return invoice, attempt

    invoice, attempt = run_in_transaction(claim)
    if attempt is None:
        return _Outcome(invoice_id, invoice.status if invoice.status == Invoice.Status.PAID else "skipped")
    # Not a chunk: a failure to settle raises instead of becoming the outcome.
    return _charge_and_settle([(invoice, attempt)], actor, chunk=False)[0]  # type: ignore[return-value]


def _collect_many(claimed: list[tuple[Invoice, InvoiceAttempt]], actor: Actor) -> list[_Outcome | Exception]:
    """A billing run's claimed chunk: one batch charge through `payments`, one settling transaction."""
    return _charge_and_settle(claimed, actor, chunk=True)


@use_case(steps=True)
def invoice_pay(*, actor: Actor, invoice_id: str) -> Invoice:
    """Attempts payment now with the subscription's payment source (open or uncollectible invoices)."""
    _collect(invoice_id, actor=actor, manual=True)
    return Invoice.objects.get(pk=invoice_id)
