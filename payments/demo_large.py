"""`seed_demo --scale large`: a year of payments (a million at full size) as the services would have
left them: a provider attempt each (latency, decline code), the risk score, level and decision,
manual captures and cancellations, risk reviews, refunds; the capture and refund entries in the
ledger (clearing -A, revenue +(A - fee), fees +fee, and the reverse with the fee share returned),
written in time order; the audit events and events of every step; the routing statistics per
provider, currency and hour.

Volume grows over the year (about 2x from first to last week) with a weekly pattern (weekends
quieter), so the revenue forecast has something to learn.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import defaultdict
from typing import Any

from django.db import connection

from core.bulkseed import LargeSeed, copy_rows, fast_id, iso
from core.money import format_amount
from wallets.ledger_bulk import BulkLedger

from .audit import PaymentsAction
from .demo import CURRENCIES, CURRENCY_WEIGHTS, MERCHANT_WEIGHTS, MERCHANTS, TOKEN_WEIGHTS, TOKENS, _fees
from .events import PaymentsEvent, RefundsEvent
from .models import FeeSchedule, Payment, PaymentAttempt, ProviderStat, Refund
from .providers.sandbox import DECLINE_MESSAGES
from .providers.sandbox import TOKENS as CARDS
from .risk.thresholds import decide, risk_thresholds_get
from .services.postings import _fee, clearing_key, fees_key, revenue_key

PROVIDERS = ["sandbox", "sandbox_alt"]
PROVIDER_WEIGHTS = [70, 30]
WEEKDAY = [1.0, 1.05, 1.05, 1.1, 1.2, 0.75, 0.65]  # Monday first
MODEL_VERSION = "seed-large"
_ATTEMPT_NAMES = [
    "id",
    "payment_id",
    "sequence",
    "provider",
    "reason",
    "status",
    "decline_code",
    "decline_message",
    "provider_reference",
    "latency_ms",
    "created",
    "completed_at",
]


def _defaults(model) -> dict[str, Any]:
    return {f.attname: f.get_default() for f in model._meta.concrete_fields}


def _daily_counts(total: int, days: int, start: dt.datetime) -> list[int]:
    weights = [(1 + d / days) * WEEKDAY[(start + dt.timedelta(days=d)).weekday()] for d in range(days)]
    scale = total / sum(weights)
    counts = [math.floor(w * scale) for w in weights]
    for d in range(total - sum(counts)):  # the rounding remainder, spread from the last day back
        counts[-1 - d % days] += 1
    return counts


class _Writer:
    """The rows of one run, buffered and COPYed per day."""

    def __init__(self, seed: LargeSeed) -> None:
        self.seed = seed
        self.ledger = BulkLedger(actor=seed.audit.actor)
        self.payment_names = list(_defaults(Payment))
        self.refund_names = list(_defaults(Refund))
        self.payment_base = _defaults(Payment)
        self.refund_base = _defaults(Refund)
        actor = seed.audit.actor
        for base in (self.payment_base, self.refund_base):
            base.update(actor_type=actor.kind, actor_id=actor.id, actor_label=actor.label)
        self.payments: list[tuple[Any, ...]] = []
        self.attempts: list[tuple[Any, ...]] = []
        self.refunds: list[tuple[Any, ...]] = []
        self.queue: list[tuple[dt.datetime, int, tuple[Any, ...]]] = []  # ledger work in time order
        self.queued = 0
        self.stats: dict[tuple[str, str, dt.datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.counts: dict[str, int] = defaultdict(int)
        self.thresholds = risk_thresholds_get()  # read once: the seed's payments all use the same
        self.schedules = {(s.provider, s.currency): s for s in FeeSchedule.objects.filter(active=True)}

    def later(self, at: dt.datetime, work: tuple[Any, ...]) -> None:
        self.queued += 1
        heapq.heappush(self.queue, (at, self.queued, work))

    def post_due(self, until: dt.datetime) -> None:
        """The ledger entries due before `until`, oldest first (posting ids follow time per account)."""
        ledger = self.ledger
        while self.queue and self.queue[0][0] < until:
            at, _, work = heapq.heappop(self.queue)
            kind, entry_id, payment, amount, fee = work
            currency, provider = payment["currency"], payment["provider"]
            clearing = ledger.account(clearing_key(provider=provider, currency=currency))
            revenue = ledger.account(revenue_key(currency=currency))
            fees = ledger.account(fees_key(currency=currency))
            meta = {"payment_id": payment["id"], "customer_id": payment["customer_id"]}
            if kind == "capture":
                rows = [(clearing, -amount), (revenue, amount - fee), (fees, fee)]
                ledger.post(
                    kind="payment_capture",
                    description=f"Capture of {payment['id']}",
                    at=at,
                    postings=[r for r in rows if r[1]],
                    metadata={**meta, "fee": fee},
                    idempotency_key=f"{payment['id']}:capture",
                    entry_id=entry_id,
                )
            else:
                refund_id = kind
                rows = [(revenue, -(amount - fee)), (clearing, amount), (fees, -fee)]
                ledger.post(
                    kind="payment_refund",
                    description=f"Refund {refund_id} of {payment['id']}",
                    at=at,
                    postings=[r for r in rows if r[1]],
                    metadata={**meta, "refund_id": refund_id, "fee_returned": fee},
                    idempotency_key=f"{refund_id}:refund",
                    entry_id=entry_id,
                )

    def flush(self) -> None:
        self.counts["payments"] += copy_rows(Payment, self.payment_names, self.payments)
        self.counts["attempts"] += copy_rows(PaymentAttempt, _ATTEMPT_NAMES, self.attempts)
        self.counts["refunds"] += copy_rows(Refund, self.refund_names, self.refunds)
        self.payments, self.attempts, self.refunds = [], [], []
        self.ledger.flush()
        self.seed.flush()

    def write_stats(self) -> int:
        """Routing statistics, added to any already there for the same hour."""
        table = ProviderStat._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bulk_provider_stats (provider varchar(40), currency varchar(3), "
                "bucket timestamptz, attempts int, successes int, latency_ms_total bigint)"
            )
            with cursor.cursor.copy("COPY bulk_provider_stats FROM STDIN") as copy:
                for (provider, currency, bucket), (attempts, successes, latency) in self.stats.items():
                    copy.write_row((provider, currency, bucket, attempts, successes, latency))
            cursor.execute(
                f"INSERT INTO {table} (provider, currency, bucket, attempts, successes, latency_ms_total) "
                "SELECT provider, currency, bucket, attempts, successes, latency_ms_total "
                "FROM bulk_provider_stats ON CONFLICT (provider, currency, bucket) DO UPDATE SET "
                f"attempts = {table}.attempts + EXCLUDED.attempts, "
                f"successes = {table}.successes + EXCLUDED.successes, "
                f"latency_ms_total = {table}.latency_ms_total + EXCLUDED.latency_ms_total"
            )
            cursor.execute("DROP TABLE bulk_provider_stats")
        return len(self.stats)


def _object(p: dict[str, Any]) -> dict[str, Any]:
    """The payment as its events carry it (the main fields of the REST rendering)."""
    return {
        "id": p["id"],
        "object": "payment",
        "amount": format_amount(p["amount"], p["currency"]),
        "currency": p["currency"],
        "status": p["status"],
        "customer_id": p["customer_id"],
        "amount_captured": format_amount(p["amount_captured"], p["currency"]),
        "amount_refunded": format_amount(p["amount_refunded"], p["currency"]),
        "method": p["method"],
        "provider": p["provider"],
        "risk_score": p["risk_score"],
        "review_status": p["review_status"],
        "created": iso(p["created"]),
    }


def _payment(w: _Writer, rng, customers: list[str], at: dt.datetime, number: int, now: dt.datetime) -> None:
    seed = w.seed
    audit = seed.audit
    currency, low, high = rng.choices(CURRENCIES, weights=CURRENCY_WEIGHTS)[0]
    amount = rng.randint(low, high)
    if rng.random() < 0.01:
        amount *= 40
    token = rng.choices(TOKENS, weights=TOKEN_WEIGHTS)[0]
    manual = rng.random() < 0.15
    provider = rng.choices(PROVIDERS, weights=PROVIDER_WEIGHTS)[0]
    # The score: mostly low, higher for large amounts and declined cards (what the model learns).
    score = min(
        int(rng.betavariate(1.3, 9) * 100) + (35 if amount > high else 0) + (15 if "decline" in token else 0), 100
    )
    level, decision = decide(score, w.thresholds)
    p = dict(w.payment_base)
    payment_id = fast_id("pay")
    customer_id = rng.choice(customers)
    card = CARDS[token].get("card")
    p.update(
        id=payment_id,
        customer_id=customer_id,
        amount=amount,
        currency=currency,
        method="bank_transfer" if token == "tok_bank_transfer" else "card",
        payment_method=token,
        capture_method="manual" if manual else "automatic",
        provider=provider,
        created=at,
        updated=at,
        risk_score=score,
        risk_level=level,
        risk_decision=decision,
        risk_model_version=MODEL_VERSION,
        risk_reasons=["large_amount"] if amount > high else [],
        description=f"Large demo order {number}",
        metadata={"demo": "large"},
        device_id=f"dev-{customer_id[-6:]}",
        ip_address=f"203.0.113.{rng.randint(1, 254)}",
        channel=rng.choice(["web", "web", "app", "pos", "moto"]),
        merchant_reference=rng.choices(MERCHANTS, weights=MERCHANT_WEIGHTS)[0],
    )
    if card is not None:
        p.update(card_brand=card.brand, card_country=card.country, card_last4=card.last4)
    audit.add(
        action=PaymentsAction.PAYMENT_CREATED,
        at=at,
        object_type="payments.payment",
        object_id=payment_id,
        details={"amount": amount, "currency": currency},
    )
    status_at = at + dt.timedelta(milliseconds=rng.randint(150, 1500))
    first_event = PaymentsEvent.PAYMENT_SUCCEEDED
    if decision == "block":
        p.update(
            status="failed",
            failure_code="blocked_by_risk",
            failure_message="The payment was blocked by the risk checks.",
        )
        first_event = PaymentsEvent.PAYMENT_FAILED
    else:
        latency = int(rng.lognormvariate(5.3, 0.5)) + (60 if provider == "sandbox_alt" else 0)
        decline = CARDS[token].get("decline")
        timeout = CARDS[token].get("timeout")
        attempt_status = (
            "declined"
            if decline
            else "unknown"
            if timeout
            else "captured"
            if not manual and decision != "review"
            else "authorised"
        )
        reference = "" if timeout else f"{provider}_{fast_id('ref')[4:20]}"
        w.attempts.append(
            (
                fast_id("att"),
                payment_id,
                1,
                provider,
                {"rule": "learning"},
                attempt_status,
                decline or "",
                DECLINE_MESSAGES.get(decline or "", ""),
                reference,
                None if timeout else latency,
                at,
                None if timeout else status_at,
            )
        )
        if not timeout:  # as record_attempt_outcome: routing counts definite outcomes only
            stat = w.stats[(provider, currency, at.replace(minute=0, second=0, microsecond=0))]
            stat[0] += 1
            stat[1] += attempt_status in ("captured", "authorised")
            stat[2] += latency
        p["provider_reference"] = reference
        if decline:
            p.update(status="failed", failure_code=decline, failure_message=DECLINE_MESSAGES[decline])
            first_event = PaymentsEvent.PAYMENT_FAILED
        elif timeout:
            p["status"] = "unknown"
        else:
            p.update(status="requires_capture", amount_capturable=amount, authorised_at=status_at)
            if decision == "review":
                p["review_status"] = "pending"
                first_event = PaymentsEvent.PAYMENT_REQUIRES_REVIEW
    audit.add(
        action=f"payment.{p['status']}",
        at=status_at,
        object_type="payments.payment",
        object_id=payment_id,
        details={"source": "create", "from": "processing", "amount_captured": 0},
    )
    _follow(w, rng, p, status_at, now, manual, first_event)


def _follow(
    w: _Writer, rng, p: dict[str, Any], at: dt.datetime, now: dt.datetime, manual: bool, first_event: str
) -> None:
    """What happened next: review decision, capture or cancel, refunds; then the row is final."""
    audit, events = w.seed.audit, w.seed.events
    pid, ptype = p["id"], "payments.payment"
    created_event_at = p["created"]
    captured_at = None
    if p["status"] == "requires_capture":
        if p["review_status"] == "pending":
            decided = at + dt.timedelta(hours=rng.uniform(1, 48))
            if decided < now:
                approve = rng.random() < 0.7
                p["review_status"] = "approved" if approve else "rejected"
                audit.add(
                    action=PaymentsAction.PAYMENT_REVIEW_APPROVED
                    if approve
                    else PaymentsAction.PAYMENT_REVIEW_REJECTED,
                    at=decided,
                    object_type=ptype,
                    object_id=pid,
                    details={"note": "large seed"},
                )
                if approve and not manual:
                    captured_at = decided
                elif not approve:
                    p.update(
                        status="canceled",
                        canceled_at=decided,
                        cancellation_reason="fraudulent",
                        amount_capturable=0,
                        updated=decided,
                    )
        elif not manual:
            captured_at = at
        if manual and p["status"] == "requires_capture" and p["review_status"] in ("none", "approved"):
            later = at + dt.timedelta(hours=rng.uniform(1, 72))
            if later < now:
                if rng.random() < 0.8:
                    captured_at = later
                else:
                    p.update(
                        status="canceled",
                        canceled_at=later,
                        cancellation_reason="requested_by_customer",
                        amount_capturable=0,
                        updated=later,
                    )
                    audit.add(
                        action=PaymentsAction.PAYMENT_CANCELED,
                        at=later,
                        object_type=ptype,
                        object_id=pid,
                        details={"reason": "requested_by_customer"},
                    )
    if captured_at is not None:
        amount = p["amount"] if not manual or rng.random() < 0.8 else max(p["amount"] // 2, 1)
        schedule = w.schedules.get((p["provider"], p["currency"]))
        fee = _fee(schedule, amount)
        entry_id = fast_id("txn")
        p.update(
            status="succeeded",
            amount_captured=amount,
            amount_capturable=0,
            fee_amount=fee,
            capture_entry_id=entry_id,
            captured_at=captured_at,
            updated=captured_at,
            authorised_at=p["authorised_at"] or captured_at,
        )
        w.later(captured_at, ("capture", entry_id, p, amount, fee))
        if captured_at != at or manual:
            audit.add(
                action=PaymentsAction.PAYMENT_CAPTURED,
                at=captured_at,
                object_type=ptype,
                object_id=pid,
                details={"amount": amount},
            )
        if rng.random() < 0.09:
            _refund(w, rng, p, captured_at, now)
    obj = _object(p)
    events.add(type=PaymentsEvent.PAYMENT_CREATED, at=created_event_at, object_type=ptype, object_id=pid, obj=obj)
    events.add(type=first_event, at=at, object_type=ptype, object_id=pid, obj=obj)
    if p["review_status"] in ("approved", "rejected"):
        events.add(
            type=PaymentsEvent.PAYMENT_REVIEW_DECIDED, at=p["updated"], object_type=ptype, object_id=pid, obj=obj
        )
    if p["status"] == "succeeded" and (manual or p["review_status"] == "approved"):
        events.add(type=PaymentsEvent.PAYMENT_CAPTURED, at=p["captured_at"], object_type=ptype, object_id=pid, obj=obj)
    if p["status"] == "canceled":
        events.add(type=PaymentsEvent.PAYMENT_CANCELED, at=p["canceled_at"], object_type=ptype, object_id=pid, obj=obj)
    w.payments.append(tuple(p.values()))


def _refund(w: _Writer, rng, p: dict[str, Any], captured_at: dt.datetime, now: dt.datetime) -> None:
    at = captured_at + dt.timedelta(days=rng.uniform(0.5, 20))
    if at >= now:
        return
    captured = p["amount_captured"]
    amount = captured if rng.random() < 0.5 else max(captured // rng.choice([2, 3, 4]), 1)
    fee_back = p["fee_amount"] * amount // captured  # proportional (payments.services.postings.fee_share)
    reason = rng.choice(["requested_by_customer", "duplicate", "fraudulent", "other"])
    refund_id, entry_id = fast_id("re"), fast_id("txn")
    r = dict(w.refund_base)
    r.update(
        id=refund_id,
        payment_id=p["id"],
        amount=amount,
        currency=p["currency"],
        reason=reason,
        status="succeeded",
        provider_reference=f"{p['provider']}_re_{refund_id[-12:]}",
        entry_id=entry_id,
        fee_returned=fee_back,
        created=at,
        updated=at,
    )
    w.refunds.append(tuple(r.values()))
    p.update(amount_refunded=amount, fee_refunded=fee_back, updated=at)
    if reason == "fraudulent":
        p["fraud_label"] = True
    w.later(at, (refund_id, entry_id, p, amount, fee_back))
    audit, events = w.seed.audit, w.seed.events
    details = {"payment_id": p["id"], "amount": amount}
    audit.add(
        action=PaymentsAction.REFUND_CREATED, at=at, object_type="payments.refund", object_id=refund_id, details=details
    )
    audit.add(
        action=PaymentsAction.REFUND_SUCCEEDED,
        at=at,
        object_type="payments.refund",
        object_id=refund_id,
        details=details,
    )
    obj = {
        "id": refund_id,
        "object": "refund",
        "payment_id": p["id"],
        "amount": format_amount(amount, p["currency"]),
        "currency": p["currency"],
        "reason": reason,
        "status": "succeeded",
        "created": iso(at),
    }
    events.add(type=RefundsEvent.REFUND_CREATED, at=at, object_type="payments.refund", object_id=refund_id, obj=obj)
    events.add(type=RefundsEvent.REFUND_SUCCEEDED, at=at, object_type="payments.refund", object_id=refund_id, obj=obj)


def seed_large(seed: LargeSeed) -> None:
    from accounts.models import Customer

    customers = list(Customer.objects.filter(email__endswith="@large.example").values_list("id", flat=True))
    if not customers:
        return
    _fees(seed.audit.actor)
    rng = seed.rng
    w = _Writer(seed)
    with seed.timer.phase("payments: payments, attempts, refunds, ledger") as note:
        start = seed.start.replace(hour=0, minute=0, second=0, microsecond=0)
        number = 0
        for day, count in enumerate(_daily_counts(seed.payments, seed.days, start)):
            day_start = start + dt.timedelta(days=day)
            moments = sorted(day_start + dt.timedelta(seconds=rng.uniform(0, 86_400)) for _ in range(count))
            for at in moments:
                at = min(at, seed.now - dt.timedelta(minutes=5))
                _payment(w, rng, customers, at, number, seed.now)
                number += 1
            w.post_due(day_start + dt.timedelta(days=1))
            if len(w.payments) >= 20_000:
                w.flush()
        w.post_due(seed.now + dt.timedelta(days=1))
        w.flush()
        w.ledger.finish()
        note.update(w.counts)
        note["journal entries"] = w.ledger.entry_count
        note["postings"] = w.ledger.posting_count
        note["provider stat hours"] = w.write_stats()
