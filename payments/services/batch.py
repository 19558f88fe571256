"""Creating and confirming many payments at once: the billing cycle's path.

`payment_create_batch` writes, for each request, the same Payment, PaymentAttempt, provider
stat, ledger and audit rows `payment_create` would (tests compare the two on the same
inputs), in three steps for the whole batch instead of four transactions per payment:
1. one transaction inserts every payment (already `processing` with its provider), its first
   attempt and its `payment.created` event, with multi-row inserts: committed before any
   provider call, so a crash leaves attempts `verify` and the settle job can settle, exactly as
   a crash of the per-payment path does;
2. the provider calls, outside any transaction (`authorise_many`: one call per provider);
3. one transaction settles the answers: payments locked in one statement, captures posted
   as one balanced ledger entry each against accounts locked once, payments, attempts and
   events written with multi-row statements, provider stats counted once per bucket.
Risk is scored per request and routing decides once per (currency, method), as the
per-payment path would for each of them (Thompson sampling draws once per batch instead of
once per payment). Anything off the common path (wallet payments, a top-up into a wallet,
an unknown customer, no provider, failover after a retriable decline, a timeout) goes
through the per-payment code, so its behaviour has one definition.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from accounts.models import Customer
from core import clock
from core.audit import audit_build
from core.context import Actor
from core.db import run_in_transaction, update_rows
from core.errors import DomainError
from core.ids import has_prefix
from core.models import AuditEvent

from .. import routing
from ..errors import NoProviderAvailable
from ..models import Payment, PaymentAttempt
from ..providers import ProviderTimeout, ProviderUnreachable, get_provider
from ..risk import RiskContext, score_payment
from . import postings
from .common import (
    ATTEMPT_OUTCOME_FIELDS,
    CAPTURED_FIELDS,
    OPEN_STATES,
    apply_result,
    attempt_status,
    capture_delta,
    mark_captured,
    save,
    set_attempt_outcome,
    take_provider_details,
)
from .create import (
    _authorise_with_routing,
    _checked_input,
    _mark_unknown,
    auth_request,
    created_details,
    new_payment,
    payment_create,
)

logger = logging.getLogger("payments")
_CAPTURE_FIELDS = ["provider_reference", "card_brand", "card_country", "card_last4", *CAPTURED_FIELDS, "updated"]


@dataclass(frozen=True)
class ChargeRequest:
    """The arguments of `payment_create` the batch path takes (no device, IP or channel: off-session)."""

    customer_id: str
    amount: int
    currency: str
    method: str
    payment_method: str
    description: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class _Item:
    index: int
    payment: Payment
    attempt: Any = None  # a PaymentAttempt when the item is charged (none when risk blocks it)
    result: Any = None  # the provider's ProviderResult, once it answered without an error
    error: Exception | None = None
    latency_ms: int = 0


def payment_create_from_request(*, actor: Actor, request: ChargeRequest) -> Payment | DomainError:
    """`payment_create` with a request's fields; the DomainError it would raise is returned in its
    place, as `payment_create_batch` returns it for that request."""
    try:
        return payment_create(actor=actor, customer_id=request.customer_id, amount=request.amount,
                              currency=request.currency, method=request.method,
                              payment_method=request.payment_method, description=request.description,
                              metadata=request.metadata)
    except DomainError as exc:
        return exc


def payment_create_batch(*, actor: Actor, requests: list[ChargeRequest]) -> list[Payment | DomainError]:
    """What `payment_create` returns for each request, in order; bad input is the DomainError it
    would raise, returned in that request's place so one bad request does not stop the rest."""
    results: list[Payment | DomainError | None] = [None] * len(requests)
    ids = {r.customer_id for r in requests if has_prefix(r.customer_id, "cus")}
    customers = Customer.objects.in_bulk(list(ids))
    decisions: dict[tuple[str, str], routing.Decision | None] = {}
    items: list[_Item] = []
    audits: list[AuditEvent] = []
    now = clock.now()
    for index, req in enumerate(requests):
        customer = customers.get(req.customer_id)
        if customer is None or req.method == Payment.Method.WALLET:
            results[index] = payment_create_from_request(actor=actor, request=req)
            continue
        try:
            currency = _checked_input(amount=req.amount, currency=req.currency, method=req.method,
                                      capture_method="automatic", payment_method=req.payment_method,
                                      description=req.description, metadata=req.metadata)
        except DomainError as exc:
            results[index] = exc
            continue
        key = (currency, req.method)
        if key not in decisions:
            try:
                decisions[key] = routing.choose(currency=currency, method=req.method)
            except NoProviderAvailable:
                decisions[key] = None
        decision = decisions[key]
        if decision is None:
            results[index] = payment_create_from_request(actor=actor, request=req)
            continue
        risk = score_payment(RiskContext(customer_id=customer.id, customer_status=customer.status, amount=req.amount,
                                         currency=currency, method=req.method, metadata=req.metadata or {}))
        payment = new_payment(actor=actor, customer=customer, risk=risk, now=now, amount=req.amount,
                              currency=currency, method=req.method, payment_method=req.payment_method,
                              capture_method=Payment.CaptureMethod.AUTOMATIC, description=req.description,
                              metadata=req.metadata or {})
        item = _Item(index, payment)
        if risk.decision != "block":
            payment.status, payment.provider = Payment.Status.PROCESSING, decision.provider
            item.attempt = PaymentAttempt(payment=payment, sequence=1, provider=decision.provider,
                                          reason=decision.reason, created=now)
        audits.append(audit_build(action="payment.created", actor=actor, obj=payment,
                                  details=created_details(payment)))
        items.append(item)
        results[index] = payment
    if not items:
        return results  # type: ignore[return-value]  # every index is filled by now

    def create_rows() -> None:
        Payment.objects.bulk_create([i.payment for i in items])
        PaymentAttempt.objects.bulk_create([i.attempt for i in items if i.attempt is not None])
        AuditEvent.objects.bulk_create(audits)

    run_in_transaction(create_rows)
    charged = [i for i in items if i.attempt is not None]
    _authorise_all(charged)
    failover = run_in_transaction(partial(_settle_batch, charged, actor))
    for item in charged:
        results[item.index] = item.payment
    for item in failover:
        declined = item.error is None
        results[item.index] = _authorise_with_routing(
            item.payment, actor, first_sequence=2, tried=[item.attempt.provider],
            last=(item.result.decline_code, item.result.decline_message) if declined else None)
    return results  # type: ignore[return-value]  # every index is filled by now


def _authorise_all(items: list[_Item]) -> None:
    """One `authorise_many` call per provider; each item gets its answer, or the exception its
    request raised, and an equal share of the call's time as its latency."""
    by_provider: dict[str, list[_Item]] = defaultdict(list)
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
            # Unreachable: nothing charged, fail over below; anything else: unknown until verified.
            if not isinstance(answer, ProviderUnreachable | ProviderTimeout):
                logger.error("provider call failed", exc_info=answer,
                             extra={"payment_id": item.payment.id, "provider": name})
            item.error = answer


def _settle_batch(items: list[_Item], actor: Actor) -> list[_Item]:
    """Applies the providers' answers (the `_settle` of the per-payment path, for the batch);
    returns the items that fail over to the next provider."""
    locked = {p.pk: p for p in Payment.objects.select_for_update().filter(pk__in=sorted(i.payment.pk for i in items))
              .order_by("pk")}
    now = clock.now()
    stats: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    others: list[tuple[_Item, partial[Any]]]
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
                others.append((item, partial(save, payment, "status")))
            elif result.status == "captured" and payment.status in OPEN_STATES and not payment.wallet_id:
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
    update_rows(PaymentAttempt, settled, ATTEMPT_OUTCOME_FIELDS)
    for (provider, currency), (n, ok, latency) in sorted(stats.items()):
        routing.record_outcomes(provider=provider, currency=currency, attempts=n, successes=ok,
                                latency_ms_total=latency)
    _apply_captures(captures, actor)
    for item, step in others:
        returned = step()
        if isinstance(returned, Payment):
            item.payment = returned
    return failover


def _apply_captures(items: list[_Item], actor: Actor) -> None:
    """`apply_result` for a full capture of a processing card payment, for many payments at once."""
    if not items:
        return
    now = clock.now()
    deltas = [capture_delta(i.payment, i.result) for i in items]
    entries = postings.post_captures([(i.payment, delta) for i, delta in zip(items, deltas, strict=True)],
                                     actor=actor)
    audits = []
    for item, delta, (entry_id, fee) in zip(items, deltas, entries, strict=True):
        payment = item.payment
        before = payment.status
        take_provider_details(payment, item.result)
        mark_captured(payment, delta=delta, entry_id=entry_id, fee=fee, now=now)
        payment.updated = now
        audits.append(audit_build(action=f"payment.{payment.status}", actor=actor, obj=payment,
                                  details={"source": "authorise", "from": before,
                                           "amount_captured": payment.amount_captured}))
    update_rows(Payment, [i.payment for i in items], _CAPTURE_FIELDS)
    AuditEvent.objects.bulk_create(audits)
