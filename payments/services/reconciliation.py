"""Daily reconciliation: each provider's state against our payments, and our payments
against the ledger's provider clearing accounts. Every difference becomes a
ReconciliationMismatch row (one per run day, kind and object, so re-running adds nothing).

`reconciliation_run` is a `@use_case(steps=True)`: it asks providers between its writes, and each
mismatch commits on its own (`run_in_transaction` steps), so one slow provider never holds locks.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Sum

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.errors import InvalidStateTransition
from core.ids import get_by_public_id
from wallets.models import Posting

from .. import providers
from ..audit import PaymentsAction
from ..models import Payment, ReconciliationMismatch, Refund
from ..providers import ProviderTimeout, ProviderUnreachable
from . import postings
from .authorise import auth_request

logger = logging.getLogger("payments.reconciliation")
# Our status -> the provider statuses that agree with it.
AGREES: dict[str, set[str]] = {
    Payment.Status.SUCCEEDED: {"captured"},
    Payment.Status.REQUIRES_CAPTURE: {"authorised"},
    Payment.Status.CANCELED: {"canceled"},
    Payment.Status.FAILED: {"declined", "not_found"},
}


def _record(run_date: dt.date, kind: str, *, payment: Payment | None = None, provider: str = "", currency: str = "",
            expected: dict, actual: dict) -> bool:
    def write() -> bool:
        subject = payment.id if payment is not None else f"{provider}:{currency}"
        _, created = ReconciliationMismatch.objects.get_or_create(
            run_date=run_date, kind=kind, subject=subject,
            defaults={"payment": payment, "provider": provider, "currency": currency, "expected": expected,
                      "actual": actual, "created": clock.now()})
        return created
    return run_in_transaction(write)


def _check_payment(run_date: dt.date, payment: Payment) -> int:
    attempt = payment.attempts.order_by("-sequence").first()
    if attempt is None:
        return 0
    try:
        result = providers.get_provider(attempt.provider).retrieve(
            reference=attempt.provider_reference or payment.provider_reference, request=auth_request(payment, attempt))
    except (ProviderTimeout, ProviderUnreachable) as exc:
        logger.warning("reconciliation could not reach the provider", extra={"payment_id": payment.id,
                                                                             "error": str(exc)})
        return 0
    ours = {"status": payment.status, "amount_captured": payment.amount_captured}
    theirs = {"status": result.status, "amount_captured": result.amount_captured}
    if result.status == "not_found" and payment.status != Payment.Status.FAILED:
        return _record(run_date, ReconciliationMismatch.Kind.MISSING_AT_PROVIDER, payment=payment,
                       provider=payment.provider, currency=payment.currency, expected=ours, actual=theirs)
    if result.status not in AGREES.get(payment.status, {result.status}):
        return _record(run_date, ReconciliationMismatch.Kind.STATUS, payment=payment, provider=payment.provider,
                       currency=payment.currency, expected=ours, actual=theirs)
    refunded = sum(payment.refunds.filter(status=Refund.Status.SUCCEEDED).values_list("amount", flat=True))
    their_refunded = result.raw.get("amount_refunded") if isinstance(result.raw, dict) else None
    if payment.status == Payment.Status.SUCCEEDED and (
            result.amount_captured != payment.amount_captured
            or (their_refunded is not None and int(their_refunded) != refunded)):
        return _record(run_date, ReconciliationMismatch.Kind.AMOUNT, payment=payment, provider=payment.provider,
                       currency=payment.currency, expected={**ours, "amount_refunded": refunded},
                       actual={**theirs, "amount_refunded": their_refunded})
    return 0


def _clearing_postings(provider: str, currency: str):
    """Postings on the provider's clearing account made for payments (payouts and other
    movements of clearing are not ours to explain)."""
    account = run_in_transaction(lambda: postings.clearing_account(provider=provider, currency=currency))
    return Posting.objects.filter(account_id=account.pk, entry__metadata__has_key="payment_id")


def _net_captured(payments) -> int:
    captured = payments.aggregate(s=Sum("amount_captured"))["s"] or 0
    refunded = Refund.objects.filter(payment__in=payments, status=Refund.Status.SUCCEEDED).aggregate(
        s=Sum("amount"))["s"] or 0
    return captured - refunded


def _check_ledger(run_date: dt.date) -> int:
    """What each payment captured minus refunded must be what the ledger moved out of clearing
    for it: per provider and currency first, then per payment where they differ."""
    created = 0
    pairs = (Payment.objects.exclude(provider__in=("", postings.WALLET_PROVIDER)).filter(amount_captured__gt=0)
             .order_by().values_list("provider", "currency").distinct())
    for provider, currency in pairs:
        payments = Payment.objects.filter(provider=provider, currency=currency)
        ledger_rows = _clearing_postings(provider, currency)
        paid_out = -(ledger_rows.aggregate(s=Sum("amount"))["s"] or 0)
        expected = _net_captured(payments)
        if paid_out == expected:
            continue
        created += _record(run_date, ReconciliationMismatch.Kind.LEDGER, provider=provider, currency=currency,
                           expected={"net_captured": expected}, actual={"clearing_paid_out": paid_out})
        by_payment = {row["entry__metadata__payment_id"]: -row["s"] for row in ledger_rows.values(
            "entry__metadata__payment_id").annotate(s=Sum("amount"))}
        suspects = payments.filter(pk__in=list(by_payment)) | payments.filter(amount_captured__gt=0)
        refunded = dict(Refund.objects.filter(payment__in=suspects, status=Refund.Status.SUCCEEDED).order_by()
                        .values("payment_id").annotate(s=Sum("amount")).values_list("payment_id", "s"))
        for payment in suspects:
            theirs, ours = by_payment.get(payment.pk, 0), payment.amount_captured - refunded.get(payment.pk, 0)
            if theirs != ours:
                created += _record(run_date, ReconciliationMismatch.Kind.LEDGER, payment=payment, provider=provider,
                                   currency=currency, expected={"net_captured": ours},
                                   actual={"clearing_paid_out": theirs})
    return created


@use_case(steps=True)
def reconciliation_run(*, actor: Actor, run_date: str | dt.date | None = None, days: int = 2) -> int:
    """Checks payments touched in the `days` before the end of `run_date` (default: today, UTC)."""
    day = dt.date.fromisoformat(run_date) if isinstance(run_date, str) else (run_date or clock.today())
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    qs = (Payment.objects.exclude(provider__in=("", postings.WALLET_PROVIDER))
          .filter(updated__gte=end - dt.timedelta(days=days), updated__lt=end)
          .exclude(status__in=(Payment.Status.UNKNOWN, Payment.Status.PROCESSING)).order_by("created"))
    configured = providers.configured()
    created = sum(_check_payment(day, p) for p in qs.iterator() if p.provider in configured)
    created += _check_ledger(day)
    run_in_transaction(lambda: audit_record(
        action=PaymentsAction.PAYMENTS_RECONCILED, actor=actor, object_type="payments.run",
        object_id=day.isoformat(), details={"mismatches": created}))
    return created


@use_case
def mismatch_resolve(*, actor: Actor, mismatch_id: str, note: str) -> ReconciliationMismatch:
    mismatch = get_by_public_id(ReconciliationMismatch.objects.select_for_update(), mismatch_id,
                                field="mismatch_id", message="No such mismatch.")
    if mismatch.status != ReconciliationMismatch.Status.OPEN:
        raise InvalidStateTransition("The mismatch is already resolved.")
    mismatch.status, mismatch.resolution_note = ReconciliationMismatch.Status.RESOLVED, note[:500]
    mismatch.resolved_by, mismatch.resolved_at = actor.label[:200], clock.now()
    mismatch.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
    audit_record(action=PaymentsAction.RECONCILIATION_MISMATCH_RESOLVED, actor=actor, obj=mismatch,
                 details={"note": note})
    return mismatch
