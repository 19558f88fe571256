"""The payment days rollup: its SELECT equals the definition computed in Python; every page and operation reading
it gives the same figures with the rollup built, stale or absent; a refresh recomputes the recent days and every
day a changed payment or refund touched, and then equals a full build; closed days are read from the rollup,
days since the last refresh from the payments; concurrent refreshes on PostgreSQL make the same table as one."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
from django.db.models import F

from monitoring.analytics import payment_days
from monitoring.analytics.overview import overview_metrics
from monitoring.analytics.payments import payment_metrics
from monitoring.analytics.revenue import INTERVALS, revenue_analytics
from monitoring.dashboards.period import Period
from monitoring.models import PaymentDay, RollupBuild
from monitoring.services_rollups import PaymentDaysRun, payment_days_refresh
from payments.models import Payment, Refund
from tests.concurrency import failures, run_threads
from tests.factories import CustomerFactory

NOW = dt.datetime(2026, 5, 15, 12, tzinfo=dt.UTC)
TODAY = NOW.date()
ALL = Period(TODAY - dt.timedelta(days=80), TODAY)


def pay(customer, created, *, status="succeeded", currency="EUR", method="card", provider="sandbox", code="",
        captured=0, captured_at=None, fee=0, refunded=0):
    return Payment.objects.create(
        customer=customer, amount=max(captured, 1_000), currency=currency, method=method, payment_method="tok_visa",
        status=status, provider=provider, failure_code=code, amount_captured=captured, captured_at=captured_at,
        fee_amount=fee, amount_refunded=refunded, created=created, updated=captured_at or created)


def refund(payment, created, amount, *, status="succeeded", fee_returned=0):
    return Refund.objects.create(payment=payment, amount=amount, currency=payment.currency, reason="other",
                                 status=status, fee_returned=fee_returned, created=created, updated=created)


def random_business(rng: random.Random, n: int = 120) -> None:
    customers = [CustomerFactory() for _ in range(5)]
    for _ in range(n):
        created = NOW - dt.timedelta(days=rng.randrange(75), hours=rng.randrange(24), minutes=rng.randrange(60))
        status = rng.choice(["succeeded", "succeeded", "succeeded", "failed", "failed", "canceled",
                             "requires_capture"])
        kwargs = {"currency": rng.choice(["EUR", "USD"]), "method": rng.choice(["card", "bank_transfer", "wallet"]),
                  "provider": rng.choice(["sandbox", "acme", ""])}
        if status == "failed":
            pay(rng.choice(customers), created, status=status, code=rng.choice(["", "card_declined",
                                                                                       "insufficient_funds"]),
                          **kwargs)
            continue
        if status != "succeeded":
            pay(rng.choice(customers), created, status=status, **kwargs)
            continue
        captured = rng.randrange(100, 50_000)
        captured_at = min(created + dt.timedelta(hours=rng.randrange(0, 96)), NOW - dt.timedelta(hours=1))
        # Some succeeded after a declined try and keep its code: only failed payments are keyed by it.
        payment = pay(rng.choice(customers), created, captured=captured, captured_at=captured_at,
                      fee=captured // 40, code=rng.choice(["", "", "card_declined"]), **kwargs)
        for _ in range(rng.choice([0, 0, 1, 2])):
            when = min(captured_at + dt.timedelta(hours=rng.randrange(1, 200)), NOW - dt.timedelta(hours=1))
            status = rng.choice(["succeeded", "succeeded", "pending", "failed"])
            amount = rng.randrange(1, captured // 2)
            refund(payment, when, amount, status=status, fee_returned=amount // 40 if status == "succeeded" else 0)
            if status != "failed":
                payment.amount_refunded += amount
        payment.save(update_fields=["amount_refunded"])


def by_definition(start: dt.date, end: dt.date) -> dict[tuple, dict[str, int]]:
    """The rows computed in Python from every payment and refund."""
    rows: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(payment_days.MEASURES, 0))

    def day(moment):
        return moment.astimezone(dt.UTC).date()

    for p in Payment.objects.all():
        if start <= day(p.created) <= end:
            row = rows[(day(p.created), p.currency, p.method, p.provider, p.failure_code if p.status == "failed"
                        else "")]
            row["payments"] += 1
            row["succeeded"] += p.status == "succeeded"
            row["failed"] += p.status == "failed"
            if p.amount_captured > 0:
                row["captured_payments"] += 1
                row["captured_amount"] += p.amount_captured
                row["refunded_amount"] += p.amount_refunded
                row["refunded_payments"] += p.amount_refunded > 0
        if p.amount_captured > 0 and start <= day(p.captured_at) <= end:
            row = rows[(day(p.captured_at), p.currency, p.method, p.provider, "")]
            row["gross"] += p.amount_captured
            row["fees"] += p.fee_amount
            row["captures"] += 1
    for r in Refund.objects.select_related("payment").filter(status="succeeded"):
        if start <= day(r.created) <= end:
            row = rows[(day(r.created), r.currency, r.payment.method, r.payment.provider, "")]
            row["refunds"] += r.amount
            row["fees_returned"] += r.fee_returned
            row["refund_count"] += 1
    return dict(rows)


def keyed(rows) -> dict[tuple, dict[str, int]]:
    return {tuple(row[k] for k in payment_days.KEYS): {m: row[m] for m in payment_days.MEASURES} for row in rows}


def stored() -> dict[tuple, dict[str, int]]:
    return keyed(PaymentDay.objects.values(*payment_days.KEYS, *payment_days.MEASURES))


def everything(period: Period) -> dict:
    """What every reader of the payment days answers for `period`."""
    return {"revenue": [revenue_analytics(period, interval) for interval in INTERVALS],
            "payments": payment_metrics(period), "overview": overview_metrics(period.end, period.currency,
                                                                               as_of=NOW)}


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(3))
def test_the_select_equals_the_definition(seed):
    random_business(random.Random(seed))
    assert keyed(payment_days.computed_rows(ALL.start, ALL.end)) == by_definition(ALL.start, ALL.end)
    week = (TODAY - dt.timedelta(days=9), TODAY - dt.timedelta(days=3))
    defined = by_definition(*week)
    assert any(key[1] == "USD" for key in defined) and any(row["refund_count"] for row in defined.values())
    assert keyed(payment_days.computed_rows(*week)) == defined
    assert keyed(payment_days.computed_rows(*week, currency="USD")) == {
        key: row for key, row in by_definition(*week).items() if key[1] == "USD"}


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(2))
def test_every_reader_answers_the_same_with_the_rollup_built_stale_or_absent(seed):
    random_business(random.Random(seed))
    periods = [Period(TODAY - dt.timedelta(days=29), TODAY), Period(TODAY - dt.timedelta(days=45),
                                                                     TODAY - dt.timedelta(days=20), "USD")]
    computed = [everything(p) for p in periods]
    payment_days_refresh(full=True, now=NOW)
    assert payment_days.stored_until() == TODAY
    assert [everything(p) for p in periods] == computed
    cutoff = TODAY - dt.timedelta(days=25)
    RollupBuild.objects.filter(name=payment_days.NAME).update(refreshed_at=NOW - dt.timedelta(days=25))
    # The 25 days since the (backdated) refresh are computed: their stored rows, spoilt, change nothing ...
    PaymentDay.objects.filter(day__gte=cutoff).update(gross=F("gross") + 1, succeeded=F("succeeded") + 1)
    assert [everything(p) for p in periods] == computed
    # ... while the days before are read from the rollup: every reader shows a spoilt one.
    PaymentDay.objects.filter(day__lt=cutoff).update(gross=F("gross") + 1, succeeded=F("succeeded") + 1)
    spoilt = everything(periods[0])
    for reader in ("revenue", "payments", "overview"):
        assert spoilt[reader] != computed[0][reader], reader


@pytest.mark.django_db
def test_closed_days_are_read_from_the_rollup_and_days_since_its_refresh_from_the_payments():
    customer = CustomerFactory()
    pay(customer, NOW - dt.timedelta(days=3), captured=1_000, captured_at=NOW - dt.timedelta(days=3))
    payment_days_refresh(full=True, now=NOW)
    PaymentDay.objects.filter(gross=1_000).update(gross=1_234)  # tampered: only a read of the rollup sees this
    pay(customer, NOW + dt.timedelta(minutes=1), captured=500, captured_at=NOW + dt.timedelta(minutes=1))
    week = Period(TODAY - dt.timedelta(days=6), TODAY)
    totals = revenue_analytics(week, "day")["by_interval"]
    assert [(r["bucket"], r["gross"]) for r in totals] == [
        ((TODAY - dt.timedelta(days=3)).isoformat(), 1_234), (TODAY.isoformat(), 500)]


@pytest.mark.django_db
def test_a_refresh_recomputes_recent_and_touched_days_and_then_equals_a_full_build():
    rng = random.Random(11)
    random_business(rng)
    customer = CustomerFactory()
    old = pay(customer, NOW - dt.timedelta(days=60), captured=9_000, captured_at=NOW - dt.timedelta(days=60))
    held = pay(customer, NOW - dt.timedelta(days=30), status="requires_capture")
    slow = pay(customer, NOW - dt.timedelta(days=55), captured=5_000, captured_at=NOW - dt.timedelta(days=55),
               refunded=1_000)
    pending = refund(slow, NOW - dt.timedelta(days=50), 1_000, status="pending")
    payment_days_refresh(full=True, now=NOW)
    later = NOW + dt.timedelta(hours=2)
    # A refund today of a payment captured 60 days ago changes that day's refunded amounts ...
    refund(old, later, 4_000)
    Payment.objects.filter(pk=old.pk).update(amount_refunded=4_000, updated=later)
    # ... a capture today of a payment authorised 30 days ago changes that day's captured payments.
    Payment.objects.filter(pk=held.pk).update(status="succeeded", amount_captured=800, captured_at=later,
                                              updated=later)
    # ... and a refund made 50 days ago that succeeds only now (its payment untouched) changes its own day's.
    Refund.objects.filter(pk=pending.pk).update(status="succeeded", updated=later)
    assert stored() != by_definition(ALL.start, TODAY)  # not yet
    run = payment_days_refresh(now=later + dt.timedelta(minutes=5))
    assert not run.full
    assert run.days == 8 + 4  # the recent days, and the days of old, held, slow and the refund
    assert stored() == by_definition(ALL.start, TODAY)
    # A write stamped before a refresh may commit after it: the next refresh looks 10 minutes further back ...
    assert payment_days_refresh(now=later + dt.timedelta(minutes=14)).days == 8 + 4
    # ... and the one after it finds nothing changed since.
    assert payment_days_refresh(now=later + dt.timedelta(minutes=30)).days == 8
    assert stored() == by_definition(ALL.start, TODAY)


@pytest.mark.django_db
def test_the_first_refresh_builds_in_full_and_an_empty_business_has_no_rows():
    run = payment_days_refresh(now=NOW)
    assert (run.full, run.days, run.rows) == (True, 0, 0)
    build = RollupBuild.objects.get(name=payment_days.NAME)
    assert (build.built_at, build.refreshed_at) == (NOW, NOW)
    pay(CustomerFactory(), NOW - dt.timedelta(days=2), status="failed", code="card_declined")
    run = payment_days_refresh(now=NOW + dt.timedelta(minutes=5))
    assert (run.full, run.rows) == (False, 1)
    assert stored() == {(TODAY - dt.timedelta(days=2), "EUR", "card", "sandbox", "card_declined"): {
        **dict.fromkeys(payment_days.MEASURES, 0), "payments": 1, "failed": 1}}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_make_the_same_table_as_one():
    random_business(random.Random(5), n=200)
    payment_days_refresh(full=True, now=NOW)
    outcomes = run_threads(4, lambda i: payment_days_refresh(full=i % 2 == 0, now=NOW + dt.timedelta(minutes=i)))
    assert failures(outcomes) == [] and all(isinstance(o, PaymentDaysRun) for o in outcomes)
    assert stored() == by_definition(ALL.start, TODAY)
