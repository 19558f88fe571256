"""Customer activity rollups (`monitoring.models.rollups`) from succeeded payments: each customer's first
payment, the months they paid in, and the cohort table counted from those. Derived data recomputed from stored
payments, like the revenue forecasts: not an operation, not audited.

A payment never stops being succeeded, so the rows only grow and a first payment only moves earlier. A refresh
recomputes the months from the previous month's start on (payments created then may still succeed: reviews,
manual captures): it adds the months and first payments seen there and counts the cohort table's cells of
those months again. A cell of an earlier month could change only through a payment created before the previous
month that succeeds now, which the nightly full build picks up. Everything is set-based SQL (PostgreSQL and
SQLite), in one transaction (a use case), one refresh at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection

from core import clock
from core.db import run_in_transaction, use_case, xact_lock
from payments.models import Payment, Refund
from subscriptions.periods import add_months

from .models import CohortMonth, CustomerActiveMonth, CustomerFirstPayment, CustomersSnapshot, PaymentDay, RollupBuild
from .models.rollups import ANY_CURRENCY

NAME = "customer_activity"
RECENT_MONTHS = 2  # the current month and the one before
_LOCK_ID = 0x726F6C6C  # pg_advisory_xact_lock key: one refresh at a time


@dataclass(frozen=True)
class RollupRun:
    full: bool
    since: dt.date | None  # the first month recomputed; None: all of them
    first_payments: int  # first-payment rows added or moved earlier
    active_months: int  # customer-month rows added
    cohort_cells: int  # cohort cells counted


def _month_of(expression: str) -> str:
    from .analytics.payment_days import utc_date_sql

    return utc_date_sql(expression, "month")


@use_case
def customer_activity_refresh(*, full: bool = False, now: dt.datetime | None = None) -> RollupRun:
    """Brings the rollups up to date: in full (`full`, or when they were never built), else the recent months.
    Derived data, recomputed from stored payments: no actor, nothing audited."""
    now = now or clock.now()
    build = _locked_build(NAME, _LOCK_ID)
    full = full or build is None
    since = None if full else add_months(now.date().replace(day=1), -(RECENT_MONTHS - 1))
    if full:
        for model in (CohortMonth, CustomerActiveMonth, CustomerFirstPayment):
            model.objects.all().delete()
    run = RollupRun(full, since, *_recompute(since))
    _record_build(NAME, now, full=full)
    return run


def _locked_build(name: str, lock_id: int) -> RollupBuild | None:
    """The rollup's build record (None: never built), read under its lock: one refresh at a time."""
    xact_lock(lock_id)
    return RollupBuild.objects.filter(name=name).first()


def _record_build(name: str, now: dt.datetime, *, full: bool) -> None:
    RollupBuild.objects.update_or_create(
        name=name, defaults={"refreshed_at": now, **({"built_at": now} if full else {})},
        create_defaults={"built_at": now, "refreshed_at": now})


def _recompute(since: dt.date | None) -> tuple[int, int, int]:
    ops = connection.ops
    payments, first = Payment._meta.db_table, CustomerFirstPayment._meta.db_table
    active, cohort = CustomerActiveMonth._meta.db_table, CohortMonth._meta.db_table
    succeeded: list[Any] = [Payment.Status.SUCCEEDED.value]
    created_since = ""
    if since is not None:
        created_since = " AND created >= %s"
        succeeded.append(ops.adapt_datetimefield_value(dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)))
    scope = f"FROM {payments} WHERE status = %s{created_since}"
    with connection.cursor() as cursor:
        # "WHERE true": SQLite's parser needs it between INSERT ... SELECT and ON CONFLICT.
        cursor.execute(
            f"INSERT INTO {first} (customer_id, currency, first_at, first_month) "
            f"SELECT customer_id, currency, first_at, {_month_of('first_at')} FROM ("
            f"SELECT customer_id, currency, MIN(created) AS first_at {scope} GROUP BY customer_id, currency "
            f"UNION ALL SELECT customer_id, %s AS currency, MIN(created) AS first_at {scope} GROUP BY customer_id"
            f") firsts WHERE true "
            f"ON CONFLICT (customer_id, currency) DO UPDATE SET first_at = excluded.first_at, "
            f"first_month = excluded.first_month WHERE excluded.first_at < {first}.first_at",
            [*succeeded, ANY_CURRENCY, *succeeded])
        firsts = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {active} (customer_id, currency, month) SELECT customer_id, currency, month FROM ("
            f"SELECT DISTINCT customer_id, currency, {_month_of('created')} AS month {scope} "
            f"UNION SELECT DISTINCT customer_id, %s AS currency, {_month_of('created')} AS month {scope}"
            f") months WHERE true ON CONFLICT (customer_id, currency, month) DO NOTHING",
            [*succeeded, ANY_CURRENCY, *succeeded])
        months = cursor.rowcount
        month_since, params = "", list[Any]()
        if since is not None:
            month_since, params = " WHERE a.month >= %s", [ops.adapt_datefield_value(since)]
            cursor.execute(f"DELETE FROM {cohort} WHERE month >= %s", params)
        cursor.execute(
            f"INSERT INTO {cohort} (currency, cohort, month, customers) "
            f"SELECT a.currency, f.first_month, a.month, COUNT(*) FROM {active} a "
            f"JOIN {first} f ON f.customer_id = a.customer_id AND f.currency = a.currency{month_since} "
            f"GROUP BY a.currency, f.first_month, a.month",
            params)
        cells = cursor.rowcount
    return firsts, months, cells


# Payment days (`PaymentDay`, read through `monitoring.analytics.payment_days`).
RECENT_DAYS = 8  # reviews are decided within 48 h; authorisations are captured, canceled or expire within 7 days
OVERLAP = dt.timedelta(minutes=10)  # a write stamped before the last refresh may commit after it
_PAYMENT_DAYS_LOCK_ID = 0x70617964


@dataclass(frozen=True)
class PaymentDaysRun:
    full: bool
    days: int  # days recomputed
    rows: int  # rows written


@use_case
def payment_days_refresh(*, full: bool = False, now: dt.datetime | None = None) -> PaymentDaysRun:
    """Brings the payment days up to date: in full (`full`, or when never built), else the recent days and every
    day a payment or refund changed since the last refresh touched (its creation, capture and refund days).
    Derived data, recomputed from stored payments: no actor, nothing audited."""
    from .analytics import payment_days

    now = now or clock.now()
    build = _locked_build(payment_days.NAME, _PAYMENT_DAYS_LOCK_ID)
    full = full or build is None
    today = now.astimezone(dt.UTC).date()
    if full:
        PaymentDay.objects.all().delete()
        first = Payment.objects.order_by("created").values_list("created", flat=True).first()
        spans = [] if first is None else [(first.astimezone(dt.UTC).date(), today)]
    else:
        assert build is not None
        spans = _spans(_touched_days(build.refreshed_at - OVERLAP)
                       | {today - dt.timedelta(days=n) for n in range(RECENT_DAYS)})
    days = rows = 0
    for start, end in spans:
        PaymentDay.objects.filter(day__gte=start, day__lte=end).delete()
        written = [PaymentDay(**row) for row in payment_days.computed_rows(start, end)]
        PaymentDay.objects.bulk_create(written, batch_size=2000)
        days += (end - start).days + 1
        rows += len(written)
    _record_build(payment_days.NAME, now, full=full)
    return PaymentDaysRun(full, days, rows)


def _touched_days(since: dt.datetime) -> set[dt.date]:
    """The days whose rows a payment or refund written since `since` changed (`core.models.stamp` sets
    `updated` on creation too)."""
    days: set[dt.date] = set()
    for created, captured in Payment.objects.filter(updated__gte=since).values_list(
            "created", "captured_at").iterator():
        days.add(created.astimezone(dt.UTC).date())
        if captured is not None:
            days.add(captured.astimezone(dt.UTC).date())
    for created, payment_created in Refund.objects.filter(updated__gte=since).values_list(
            "created", "payment__created").iterator():
        days |= {created.astimezone(dt.UTC).date(), payment_created.astimezone(dt.UTC).date()}
    return days


def _spans(days: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) ranges."""
    spans: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if spans and day == spans[-1][1] + dt.timedelta(days=1):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


# The customers page's snapshot of its default period (`CustomersSnapshot`).
@use_case(steps=True)
def customers_snapshot_refresh(*, now: dt.datetime | None = None) -> CustomersSnapshot:
    """Computes the customers page's figures for the default period (the last 30 days, every currency) outside
    any transaction (a second of reads at a million payments) and stores them in a short one, replacing the older
    snapshots. Derived data: nothing audited."""
    from .analytics import customers_snapshot

    now = now or clock.now()
    period = customers_snapshot.default_period(now)
    data = customers_snapshot.dumped(customers_snapshot.compute(period))

    def store() -> CustomersSnapshot:
        CustomersSnapshot.objects.exclude(start=period.start, end=period.end, currency="").delete()
        snapshot, _ = CustomersSnapshot.objects.update_or_create(
            start=period.start, end=period.end, currency="", defaults={"computed_at": now, "data": data})
        return snapshot

    return run_in_transaction(store)
