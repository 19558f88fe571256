"""The MRR months rollup: `subscription_analytics` answers the same with the closed months stored (the current
month replayed over its own customers only) as by replaying the whole history; a rollup that does not reach the
asked month is not used; a refresh stores every closed month again (an event recorded with a past time);
concurrent refreshes on PostgreSQL make the same table as one."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from subscriptions import services
from subscriptions.models import MrrMonth, MrrRollup, Subscription, SubscriptionEvent
from subscriptions.mrr_rollup import MrrMonthsRun, mrr_months_refresh
from subscriptions.selectors.analytics import subscription_analytics
from tests.concurrency import failures, run_threads
from tests.factories import CustomerFactory

T0 = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 17, 15, tzinfo=dt.UTC)


@pytest.fixture
def plans(actor):
    return [services.plan_create(actor=actor, name=f"Plan {currency}", amount=3000, currency=currency,
                                 interval="month") for currency in ("EUR", "USD")]


def random_history(rng: random.Random, plans, *, subscriptions: int = 14, until: dt.datetime = NOW) -> None:
    customers = [CustomerFactory() for _ in range(6)]
    hours = int((until - T0).total_seconds() // 3600)
    for _ in range(subscriptions):
        customer, plan = rng.choice(customers), rng.choice(plans)
        start = T0 + dt.timedelta(hours=rng.randrange(hours))
        sub = Subscription.objects.create(customer=customer, plan=plan, status="active", billing_cycle_anchor=start,
                                          current_period_start=start, current_period_end=start + dt.timedelta(30),
                                          created=start, updated=start)
        moments = sorted(start + dt.timedelta(hours=rng.randrange(max(1, int((until - start).total_seconds()
                                                                              // 3600))))
                         for _ in range(rng.randrange(0, 5)))
        for moment, mrr in [(start, rng.choice([0, 3000])), *((m, rng.choice([0, 0, 1500, 3000, 6000]))
                                                              for m in moments)]:
            SubscriptionEvent.objects.create(subscription=sub, customer_id=customer.id, kind="changed",
                                             status="active" if mrr else "canceled", plan_id=plan.id, quantity=1,
                                             currency=plan.currency, mrr=mrr, at=moment)


def answers(as_of: dt.datetime) -> list[dict]:
    return [subscription_analytics(months=months, as_of=as_of) for months in (1, 2, 7, 9)]


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(4))
def test_stored_months_answer_as_the_whole_replay_does(seed, plans):
    random_history(random.Random(seed), plans)
    # The current month has customers to replay, among them some with history from closed months.
    march = NOW.replace(day=1)
    in_march = set(SubscriptionEvent.objects.filter(at__gte=march).values_list("customer_id", flat=True))
    assert in_march & set(SubscriptionEvent.objects.filter(at__lt=march).values_list("customer_id", flat=True))
    as_ofs = [NOW, NOW.replace(day=1), NOW.replace(day=1) - dt.timedelta(microseconds=1)]
    replayed = {as_of: answers(as_of) for as_of in as_ofs}
    first = SubscriptionEvent.objects.order_by("at").first().at
    run = mrr_months_refresh(now=NOW)
    assert (run.months, run.through) == (2026 * 12 + 3 - (first.year * 12 + first.month), dt.date(2026, 3, 1))
    assert MrrMonth.objects.count() == run.rows > 0
    assert answers(NOW) == replayed[NOW]
    assert answers(NOW.replace(day=1)) == replayed[NOW.replace(day=1)]
    # February's end: the rollup holds February whole, but the asked month is replayed (its customers only).
    last_of_february = NOW.replace(day=1) - dt.timedelta(microseconds=1)
    assert answers(last_of_february) == replayed[last_of_february]


@pytest.mark.django_db
def test_the_rollup_is_read_for_closed_months_and_ignored_when_it_does_not_reach_the_asked_month(plans):
    random_history(random.Random(9), plans)
    mrr_months_refresh(now=NOW)
    replayed = subscription_analytics(months=3, as_of=NOW)
    MrrMonth.objects.filter(month=dt.date(2026, 1, 1)).update(new=123_456)  # only a read of the rollup sees it
    stored = subscription_analytics(months=3, as_of=NOW)
    january = [r for r in stored["movements"] if r["month"] == "2026-01"]
    assert january and all(r["new"] == 123_456 for r in january)
    assert [r for r in stored["movements"] if r["month"] != "2026-01"] == [
        r for r in replayed["movements"] if r["month"] != "2026-01"]
    # A month the rollup has not reached (it was refreshed in March): April is replayed whole.
    april = NOW.replace(month=4, day=10)
    assert MrrRollup.objects.get().through == dt.date(2026, 3, 1)
    assert all(r["new"] != 123_456 for r in subscription_analytics(months=4, as_of=april)["movements"])


@pytest.mark.django_db
def test_a_refresh_stores_every_closed_month_again(plans):
    random_history(random.Random(3), plans)
    mrr_months_refresh(now=NOW)
    before = subscription_analytics(months=6, as_of=NOW)
    sub = Subscription.objects.first()
    SubscriptionEvent.objects.create(subscription=sub, customer_id=sub.customer_id, kind="changed", status="active",
                                     plan_id=sub.plan_id, quantity=1, currency=sub.plan.currency, mrr=99_000,
                                     at=dt.datetime(2025, 12, 3, tzinfo=dt.UTC))  # recorded late, in a past month
    mrr_months_refresh(now=NOW + dt.timedelta(minutes=5))
    after = subscription_analytics(months=6, as_of=NOW)
    assert after != before
    MrrRollup.objects.all().delete()
    assert subscription_analytics(months=6, as_of=NOW) == after


@pytest.mark.django_db
def test_no_history_stores_nothing_and_still_answers(plans):
    run = mrr_months_refresh(now=NOW)
    assert (run.months, run.rows, run.through) == (0, 0, dt.date(2026, 3, 1))
    result = subscription_analytics(months=3, as_of=NOW)
    assert (result["mrr"], result["movements"]) == ([], [])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_make_the_same_table_as_one(plans):
    random_history(random.Random(21), plans, subscriptions=30)
    mrr_months_refresh(now=NOW)
    one = set(MrrMonth.objects.values_list("month", "currency", "mrr_start", "mrr_end", "new", "churn"))
    outcomes = run_threads(4, lambda i: mrr_months_refresh(now=NOW + dt.timedelta(minutes=i)))
    assert failures(outcomes) == [] and all(isinstance(o, MrrMonthsRun) for o in outcomes)
    assert set(MrrMonth.objects.values_list("month", "currency", "mrr_start", "mrr_end", "new", "churn")) == one


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(3))
def test_mrr_at_agrees_with_the_replay(seed, plans):
    """The overview's MRR (a LAG over each subscription's history) and the subscriptions page's (the replay)
    are the same figure at any instant."""
    from subscriptions.selectors.analytics import mrr_at

    rng = random.Random(seed)
    random_history(rng, plans)
    instants = {f"t{i}": T0 + dt.timedelta(hours=rng.randrange(int((NOW - T0).total_seconds() // 3600)))
                for i in range(5)}
    at = mrr_at(instants)
    assert any(values["mrr"] for values in at.values())  # not only instants before any subscription
    for name, instant in instants.items():
        replayed = subscription_analytics(months=1, as_of=instant - dt.timedelta(microseconds=1))
        assert at[name]["mrr"] == {row["currency"]: row["mrr"] for row in replayed["mrr"] if row["mrr"]}, name
