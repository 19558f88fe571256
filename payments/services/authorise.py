"""Authorising created payments at their providers: the one definition of an attempt, for one
payment or a batch (inner helpers of `create.py`'s use cases, which own the steps).

For a list of attempts already committed (their payments `processing`):
1. the provider calls, outside any transaction (`authorise_many`: one call per provider);
2. one transaction settles the answers: payments locked in one statement, captures posted as
   one balanced ledger entry each against accounts locked once, payments, attempts and events
   written with multi-row statements, provider stats counted once per bucket; on PostgreSQL the
   writes go in the transaction's last statement (core.heldrows), so the rows every payment shares
   (the provider stats row, the platform's accounts) stay locked for that statement and the commit;
3. a payment whose provider was unreachable or declined retriably fails over: the next provider
   routing offers gets a new attempt (its own transaction), which goes through 1 and 2 again.
Timeouts and unexpected errors leave the payment `unknown` for `verify`: a provider that may
have charged is never tried again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings

from core import clock, heldrows
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, update_locked_rows_later
from core.events import emit
from core.models import touch
from core.rawrows import fetch

from .. import routing
from ..audit import PaymentsAction
from ..errors import NoProviderAvailable
from ..events import PaymentsEvent
from ..models import Payment, PaymentAttempt
from ..providers import AuthRequest, ProviderTimeout, ProviderUnreachable, get_provider
from .common import (
    ATTEMPT_OUTCOME_FIELDS,
    OPEN_STATES,
    apply_captures,
    apply_result,
    attempt_status,
    lock_payment,
    record_attempt_outcome,
    set_attempt_outcome,
)

logger = logging.getLogger("payments")
NO_PROVIDER_REACHED = ("provider_unavailable", "No provider could be reached.")


@dataclass
class Attempt:
    """A payment at its current attempt, with the provider's answer (or the error its call raised)
    and what failover needs: the providers tried and the last retriable decline."""

    payment: Payment
    attempt: PaymentAttempt
    result: Any = None  # a ProviderResult once the provider answered (error is None)
    error: Exception | None = None
    latency_ms: int = 0
    tried: list[str] = field(default_factory=list)
    last: tuple[str, str] = NO_PROVIDER_REACHED


def auth_request(payment: Payment, attempt: PaymentAttempt) -> AuthRequest:
    capture = (payment.capture_method == Payment.CaptureMethod.AUTOMATIC
               and payment.review_status != Payment.Review.PENDING)
    return AuthRequest(attempt_id=attempt.id, payment_id=payment.id, amount=payment.amount, currency=payment.currency,
                       method=payment.method, payment_method=payment.payment_method, capture=capture,
                       description=payment.description, customer_id=payment.customer_id)


def authorise(items: list[Attempt], *, actor: Actor) -> None:
    """Steps 1-3 for attempts already committed; each item's `payment` ends as the service returns it."""
    if not items:
        return
    _call_providers(items)
    for item in run_in_transaction(partial(_settle, items, actor)):
        _fail_over(item, actor)


def fail_payment(payment_id: str, actor: Actor, code: str, message: str) -> Payment:
    payment = lock_payment(payment_id)
    payment.status, payment.failure_code, payment.failure_message = Payment.Status.FAILED, code, message[:300]
    touch(payment, "status", "failure_code", "failure_message")
    audit_record(action=PaymentsAction.PAYMENT_FAILED, actor=actor, obj=payment, details={"failure_code": code})
    emit(PaymentsEvent.PAYMENT_FAILED, payment, actor=actor)
    return payment


def _fail_over(item: Attempt, actor: Actor) -> None:
    """The next providers in turn, each attempt committed before its call, until one answers for
    good; none left (or PAYMENTS_MAX_ATTEMPTS made): failed with the last retriable decline."""
    while True:
        item.tried.append(item.attempt.provider)
        if item.error is None:
            item.last = (item.result.decline_code, item.result.decline_message)
        sequence = item.attempt.sequence + 1
        if sequence > int(settings.PAYMENTS_MAX_ATTEMPTS):
            break
        try:
            decision = routing.choose(currency=item.payment.currency, method=item.payment.method,
                                      exclude=tuple(item.tried))
        except NoProviderAvailable:
            break
        item.payment, item.attempt = run_in_transaction(partial(_start_attempt, item.payment.id, sequence, decision))
        item.result = item.error = None
        _call_providers([item])
        if not run_in_transaction(partial(_settle, [item], actor)):
            return
    item.payment = run_in_transaction(partial(fail_payment, item.payment.id, actor, *item.last))


def _start_attempt(payment_id: str, sequence: int, decision: routing.Decision) -> tuple[Payment, PaymentAttempt]:
    payment = lock_payment(payment_id)
    attempt = PaymentAttempt(payment=payment, sequence=sequence, provider=decision.provider, reason=decision.reason,
                             created=clock.now())
    attempt.save(force_insert=True)
    payment.status, payment.provider = Payment.Status.PROCESSING, decision.provider
    touch(payment, "status", "provider")
    return payment, attempt


def _call_providers(items: list[Attempt]) -> None:
    """One `authorise_many` call per provider; each item gets its answer, or the exception its
    request raised, and an equal share of the call's time as its latency."""
    by_provider: dict[str, list[Attempt]] = defaultdict(list)
    for item in items:
        by_provider[item.attempt.provider].append(item)
    for name, group in by_provider.items():
        started = time.monotonic()
        try:
            answers = get_provider(name).authorise_many([auth_request(i.payment, i.attempt) for i in group])
        except Exception as exc:  # noqa: BLE001 - each request's error below (logged, then unknown)
            # The call failed as a whole: every request of it is in the state that error leaves it.
            answers = [exc] * len(group)
        latency_ms = int((time.monotonic() - started) * 1000 / len(group))
        for item, answer in zip(group, answers, strict=True):
            item.latency_ms = latency_ms
            if not isinstance(answer, Exception):
                item.result = answer
                continue
            # Unreachable: nothing charged, fail over; anything else: unknown until verified.
            if not isinstance(answer, ProviderUnreachable | ProviderTimeout):
                logger.error("provider call failed", exc_info=answer,
                             extra={"payment_id": item.payment.id, "provider": name})
            item.error = answer


def _mark_unknown(payment_id: str, attempt: PaymentAttempt, latency_ms: int, actor: Actor, why: str) -> Payment:
    payment = lock_payment(payment_id)
    record_attempt_outcome(attempt=attempt, status=PaymentAttempt.Status.UNKNOWN, latency_ms=latency_ms,
                           currency=payment.currency, decline_message=why)
    payment.status = Payment.Status.UNKNOWN
    touch(payment, "status")
    audit_record(action=PaymentsAction.PAYMENT_UNKNOWN, actor=actor, obj=payment, details={"attempt": attempt.id})
    return payment


def _settle(items: list[Attempt], actor: Actor) -> list[Attempt]:
    """Applies the providers' answers; returns the items that fail over to the next provider."""
    locked = {p.pk: p for p in fetch(Payment, lock=True, pk=sorted({i.payment.pk for i in items}))}
    # One block for the whole settlement: the captures' ledger write, the payments', the attempts' and the provider
    # stats' changes lead its last statement, after every lock the settlement takes (core.heldrows).
    with heldrows.joining():
        return _settle_locked(items, locked, actor)


def _settle_locked(items: list[Attempt], locked: dict[str, Payment], actor: Actor) -> list[Attempt]:
    now = clock.now()
    stats: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # attempts, successes, latency
    others: list[tuple[Attempt, partial[Any]]]
    failover, captures, others = [], [], []
    for item in items:
        payment, attempt, result = locked[item.payment.pk], item.attempt, item.result
        item.payment = payment
        if isinstance(item.error, ProviderUnreachable):
            status, code, message, reference = PaymentAttempt.Status.UNREACHABLE, "provider_unavailable", str(
                item.error), ""
            failover.append(item)
        elif item.error is not None:
            why = str(item.error) if isinstance(item.error, ProviderTimeout) else \
                f"{type(item.error).__name__}: {item.error}"
            others.append((item, partial(_mark_unknown, payment.pk, attempt, item.latency_ms, actor, why)))
            continue
        else:
            status = attempt_status(result)
            code, message, reference = result.decline_code, result.decline_message, result.reference
            if result.status == "declined" and result.retriable:
                failover.append(item)
            elif status == PaymentAttempt.Status.UNKNOWN and result.status != "processing":
                payment.status = Payment.Status.UNKNOWN
                others.append((item, partial(touch, payment, "status")))
            elif result.status == "captured" and payment.status in OPEN_STATES:
                captures.append(item)
            else:
                others.append((item, partial(apply_result, payment=payment, result=result, actor=actor,
                                             source="authorise")))
        set_attempt_outcome(attempt, status=status, latency_ms=item.latency_ms, now=now, decline_code=code,
                            decline_message=message, reference=reference)
        if status != PaymentAttempt.Status.UNKNOWN:
            counts = stats[(attempt.provider, payment.currency)]
            counts[0] += 1
            counts[1] += status in (PaymentAttempt.Status.AUTHORISED, PaymentAttempt.Status.CAPTURED)
            counts[2] += max(item.latency_ms, 0)
    settled = [i.attempt for i in items if i.attempt.status != PaymentAttempt.Status.PENDING]
    apply_captures([(i.payment, i.result) for i in captures], actor=actor, source="authorise")
    for item, step in others:
        returned = step()
        if isinstance(returned, Payment):
            item.payment = returned
    # Last, so they are held behind the locks above rather than sent before them: the provider stats row is shared
    # by every payment of the provider and currency. (`settled`: the attempts this answer settled, not those a step
    # above wrote itself.)
    update_locked_rows_later(PaymentAttempt, settled, ATTEMPT_OUTCOME_FIELDS)
    routing.record_outcomes(stats)
    return failover
