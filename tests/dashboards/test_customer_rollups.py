"""The customer activity rollups: a full build equals the definition over the payments; a refresh adds the recent
months, moves a first payment earlier, changes nothing when run again, and leaves older months to the nightly
build; concurrent refreshes on PostgreSQL make the same tables as one."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest

from monitoring.models import CohortMonth, CustomerActiveMonth, CustomerFirstPayment, RollupBuild
from monitoring.services_rollups import customer_activity_refresh
from payments.models import Payment
from tests.concurrency import failures, run_threads
from tests.factories import CustomerFactory

NOW = dt.datetime(2026, 5, 15, 12, tzinfo=dt.UTC)


def pay(customer, when, currency="EUR", status="succeeded"):
    return Payment.objects.create(customer=customer, amount=1_000, currency=currency, method="card",
                                  payment_method="tok_visa", status=status, provider="sandbox",
                                  amount_captured=1_000 if status == "succeeded" else 0, created=when, updated=when)


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def tables() -> dict[str, set]:
    return {
        "first": set(CustomerFirstPayment.objects.values_list("customer_id", "currency", "first_at", "first_month")),
        "active": set(CustomerActiveMonth.objects.values_list("customer_id", "currency", "month")),
        "cohort": set(CohortMonth.objects.values_list("currency", "cohort", "month", "customers")),
    }


def by_definition() -> dict[str, set]:
    """The three tables computed in Python from every succeeded payment."""
    first: dict[tuple[str, str], dt.datetime] = {}
    active: set[tuple[str, str, dt.date]] = set()
    for customer, currency, created in Payment.objects.filter(status="succeeded").values_list(
            "customer_id", "currency", "created"):
        for variant in (currency, ""):
            key = (customer, variant)
            first[key] = min(first.get(key, created), created)
            active.add((customer, variant, created.astimezone(dt.UTC).date().replace(day=1)))
    cohort: dict[tuple[str, dt.date, dt.date], int] = defaultdict(int)
    for customer, variant, month in active:
        cohort[(variant, first[(customer, variant)].astimezone(dt.UTC).date().replace(day=1), month)] += 1
    return {
        "first": {(c, v, t, t.astimezone(dt.UTC).date().replace(day=1)) for (c, v), t in first.items()},
        "active": active,
        "cohort": {(v, c, m, n) for (v, c, m), n in cohort.items()},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(3))
def test_a_full_build_equals_the_definition(seed):
    rng = random.Random(seed)
    customers = [CustomerFactory() for _ in range(8)]
    for _ in range(60):
        pay(rng.choice(customers), NOW - dt.timedelta(days=rng.randrange(400), hours=rng.randrange(24)),
            currency=rng.choice(["EUR", "USD"]), status=rng.choice(["succeeded", "succeeded", "failed", "canceled"]))
    run = customer_activity_refresh(full=True, now=NOW)
    assert run.full and run.since is None
    assert tables() == by_definition()
    assert sum(n for currency, cohort, month, n in tables()["cohort"] if currency == "" and cohort == month) == len(
        {c for c, v, *_ in tables()["first"] if v == ""})


@pytest.mark.django_db
def test_a_refresh_adds_the_recent_months_and_moves_a_first_payment_earlier():
    alice, bob = CustomerFactory(), CustomerFactory()
    pay(bob, at("2026-01-10"))
    customer_activity_refresh(full=True, now=NOW)
    pay(alice, at("2026-05-10"))
    pay(alice, at("2026-05-11"), status="failed")
    run = customer_activity_refresh(now=NOW)
    assert (run.full, run.since, run.first_payments, run.active_months) == (False, dt.date(2026, 4, 1), 2, 2)
    assert {row for row in tables()["cohort"] if row[0] == ""} == {
        ("", dt.date(2026, 1, 1), dt.date(2026, 1, 1), 1), ("", dt.date(2026, 5, 1), dt.date(2026, 5, 1), 1)}
    # A payment created in April succeeds now (a review, a manual capture): Alice's cohort becomes April.
    pay(alice, at("2026-04-28"), currency="USD")
    customer_activity_refresh(now=NOW)
    assert CustomerFirstPayment.objects.get(customer_id=alice.pk, currency="").first_at == at("2026-04-28")
    assert {row for row in tables()["cohort"] if row[0] == ""} == {
        ("", dt.date(2026, 1, 1), dt.date(2026, 1, 1), 1),
        ("", dt.date(2026, 4, 1), dt.date(2026, 4, 1), 1), ("", dt.date(2026, 4, 1), dt.date(2026, 5, 1), 1)}
    assert tables() == by_definition()
    before = tables()
    again = customer_activity_refresh(now=NOW)
    assert (again.first_payments, again.active_months) == (0, 0) and tables() == before


@pytest.mark.django_db
def test_a_payment_created_before_the_previous_month_waits_for_the_nightly_build():
    alice = CustomerFactory()
    customer_activity_refresh(full=True, now=NOW)
    pay(alice, at("2026-03-31", 23))
    customer_activity_refresh(now=NOW)
    assert tables() == {"first": set(), "active": set(), "cohort": set()}
    customer_activity_refresh(full=True, now=NOW)
    assert tables() == by_definition() and len(tables()["cohort"]) == 2


@pytest.mark.django_db
def test_the_first_refresh_builds_in_full_and_records_when():
    pay(CustomerFactory(), at("2025-06-01"))
    assert not RollupBuild.objects.exists()
    run = customer_activity_refresh(now=NOW)
    assert run.full and tables() == by_definition()
    build = RollupBuild.objects.get()
    assert (build.name, build.built_at, build.refreshed_at) == ("customer_activity", NOW, NOW)
    later = NOW + dt.timedelta(minutes=5)
    customer_activity_refresh(now=later)
    build.refresh_from_db()
    assert (build.built_at, build.refreshed_at) == (NOW, later)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_make_the_same_tables_as_one():
    rng = random.Random(7)
    customers = [CustomerFactory() for _ in range(30)]
    for _ in range(300):
        pay(rng.choice(customers), NOW - dt.timedelta(days=rng.randrange(60), hours=rng.randrange(24)),
            currency=rng.choice(["EUR", "USD"]))
    customer_activity_refresh(full=True, now=NOW)
    CohortMonth.objects.all().delete()  # the recent months' cells are counted again by every refresh
    outcomes = run_threads(4, lambda i: customer_activity_refresh(full=i % 2 == 0, now=NOW))
    assert failures(outcomes) == []
    assert tables() == by_definition()
