"""The billing cycle: renew subscriptions whose period ended, then collect due invoices.

Safe to run twice at once: each chunk locks its rows with SKIP LOCKED, so two runs split
the work instead of sharing it, and `invoice_one_per_period` refuses a second invoice for a
period even if a bug let two runs reach one subscription. Safe to rerun after a crash:
renewal commits per chunk (invoice + advanced period together), and collection leases each
invoice with a pending attempt that the next run settles from the payment it finds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.models import touch

from ..audit import SubscriptionsAction
from ..models import BillingRun, Invoice, Subscription
from .attempts import _claim_many, _collect_many
from .common import _record_event
from .invoices import _void
from .renewal import _renew
from .subscriptions import INCOMPLETE_TTL

logger = logging.getLogger("subscriptions")
# Exactly the condition of the partial index `sub_renewal_due_idx`, so the chunk query can use it.
RENEWABLE = (Subscription.Status.ACTIVE, Subscription.Status.TRIALING, Subscription.Status.PAST_DUE)
# Test seam: called after each committed chunk with the phase name (a crash can be simulated there).
after_chunk: Callable[[str], None] | None = None


def _chunk_size(value: int | None) -> int:
    return int(value or getattr(settings, "BILLING_CHUNK_SIZE", 200))  # type: ignore[arg-type]  # mypy infers getattr from int()


def _due_for_renewal(now):
    """The renewal chunk query, oldest period end first: walks `sub_renewal_due_idx` and stops."""
    return (Subscription.objects.select_for_update(skip_locked=True, of=("self",)).select_related("plan", "customer")
            .filter(status__in=RENEWABLE, current_period_end__lte=now).order_by("current_period_end", "id"))


def _due_for_collection(now):
    """The collection chunk query, earliest attempt first: walks `inv_collect_idx` and stops."""
    return (Invoice.objects.select_for_update(skip_locked=True, of=("self",)).select_related("subscription")
            .filter(status=Invoice.Status.OPEN, next_payment_attempt__lte=now).order_by("next_payment_attempt", "id"))


def _renew_chunk(run: BillingRun, actor: Actor, size: int) -> int:
    def write() -> int:
        subs = list(_due_for_renewal(clock.now())[:size])
        for sub in _renew(subs, actor, run):
            # Another run invoiced this period already: nothing to do for it here.
            logger.warning("period already invoiced", extra={"subscription": sub.id})
            _error(run, sub.id, "duplicate_period", "The subscription's new period is already invoiced.")
        return len(subs)
    return run_in_transaction(write)


def _expire_incomplete(run: BillingRun, actor: Actor, size: int) -> int:
    def write() -> int:
        cutoff = clock.now() - INCOMPLETE_TTL
        subs = list(Subscription.objects.select_for_update(skip_locked=True, of=("self",)).select_related("plan")
                    .filter(status=Subscription.Status.INCOMPLETE, created__lte=cutoff).order_by("id")[:size])
        for sub in subs:
            sub.status, sub.ended_at = Subscription.Status.INCOMPLETE_EXPIRED, clock.now()
            touch(sub, "status", "ended_at")
            for invoice in sub.invoices.select_for_update().filter(status=Invoice.Status.OPEN):
                _void(invoice, actor)
            _record_event(sub, "incomplete_expired")
            audit_record(action=SubscriptionsAction.SUBSCRIPTION_INCOMPLETE_EXPIRED, actor=actor, obj=sub)
            run.expired += 1
        return len(subs)
    return run_in_transaction(write)


def _collect_chunk(run: BillingRun, actor: Actor, size: int) -> int:
    def claim_chunk():
        now = clock.now()
        invoices = list(_due_for_collection(now)[:size])
        return list(zip(invoices, _claim_many(invoices, actor), strict=True))

    claimed = run_in_transaction(claim_chunk)
    attempts = [(invoice, attempt) for invoice, attempt in claimed if attempt is not None]
    run.payments_attempted += len(attempts)
    try:
        outcomes = _collect_many(attempts, actor) if attempts else []
    except Exception as exc:
        # The chunk's charge failed as a whole: its pending attempts are settled by the next run.
        logger.exception("collection failed", extra={"invoices": [i.id for i, _ in attempts][:20]})
        outcomes = [exc] * len(attempts)
    for (invoice, _), outcome in zip(attempts, outcomes, strict=True):
        if isinstance(outcome, Exception):
            # One invoice's failure must not stop the run; its pending attempt is settled next time.
            _error(run, invoice.id, type(outcome).__name__, str(outcome))
        elif outcome.status == "paid":
            run.payments_succeeded += 1
        elif outcome.status == "failed":
            run.payments_failed += 1
    return len(claimed)


def _error(run: BillingRun, object_id: str, code: str, message: str) -> None:
    run.errors += 1
    if len(run.error_details) < 100:
        run.error_details.append({"object_id": object_id, "code": code, "message": message[:300]})


def _checkpoint(run: BillingRun, phase: str) -> None:
    run.chunks += 1
    run_in_transaction(lambda: run.save())
    if after_chunk is not None:
        after_chunk(phase)


@use_case(steps=True)
def billing_run(*, actor: Actor, chunk_size: int | None = None, triggered_by: str = "") -> BillingRun:
    """One billing cycle as of `clock.now()`; returns the recorded run."""
    size = _chunk_size(chunk_size)
    now = clock.now()
    run = run_in_transaction(lambda: BillingRun.objects.create(
        as_of=now, status=BillingRun.Status.RUNNING, started=now, triggered_by=triggered_by or actor.label))
    try:
        for phase, step in (("expire", _expire_incomplete), ("renew", _renew_chunk), ("collect", _collect_chunk)):
            while step(run, actor, size) == size:
                _checkpoint(run, phase)
            _checkpoint(run, phase)
    except Exception as exc:
        _error(run, run.id, type(exc).__name__, str(exc))
        run.status, run.finished = BillingRun.Status.FAILED, clock.now()
        run_in_transaction(lambda: run.save())
        raise
    run.status, run.finished = BillingRun.Status.SUCCEEDED, clock.now()
    run_in_transaction(lambda: run.save())
    return run
