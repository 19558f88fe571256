"""Customers: RFM segments, cohort retention, top customers, new customers, and one customer's behaviour.

What counts: a customer's succeeded payments (`Payment.status == succeeded`) whose `created` time falls in the
period [since, until) (the indexed column every list reads; a payment succeeds seconds after it is created),
restricted to the period's currency when one is chosen. Money is `amount_captured` in minor units, per currency.

RFM (docs/dashboards/customers.md has the segment table):
- recency R: days from the customer's last succeeded payment in the period to the period's last day (0 = paid on it);
- frequency F: succeeded payments in the period (all currencies);
- monetary M: captured amount in the period, per currency.
Each is scored 1-5 by quintile over the customers who paid in the period, with ties sharing a score: a value's
position is the mid-point of its tie group, p = (customers below + half of those equal) / customers, and its
score is 1 + floor(5 p) (so 5 distinct values score 1..5 and a lone customer scores 3). Fewer days since the last
payment, more payments and more money score higher. Amounts in different currencies are not comparable, so M is
scored within each currency and a customer's M is their best currency's score. The segment comes from R and
FM = round half up((F + M) / 2) through SEGMENTS.

The per-customer aggregates come from one GROUP BY query; scoring sorts those rows in Python (no per-customer query).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Count, Max, Min, QuerySet, Sum
from django.db.models.functions import (
    Cast,
    ExtractHour,
    ExtractIsoWeekDay,
    TruncDate,
)

from accounts.models import Customer
from accounts.selectors import customer_get
from payments.models import Payment
from subscriptions.periods import add_months, month_start, months_between
from subscriptions.proration import round_half_up_ratio

from ..dashboards.period import Period
from ..models import CohortMonth, CustomerFirstPayment
from ..models.rollups import ANY_CURRENCY
from . import rate

TOP_CUSTOMERS = 10  # per currency
COHORT_MONTHS = 12  # months followed after the first one


@dataclass(frozen=True)
class Segment:
    name: str
    label: str
    recency: tuple[int, ...]  # R scores
    fm: tuple[int, ...]  # FM scores
    description: str


# Every (R, FM) pair of 1..5 x 1..5 is in exactly one segment (a test checks it); first match wins.
SEGMENTS: tuple[Segment, ...] = (
    Segment("champions", "Champions", (4, 5), (4, 5), "Paid recently, often and much."),
    Segment("loyal", "Loyal", (3,), (4, 5), "Pay often and much, a little less recently."),
    Segment("potential_loyalists", "Potential loyalists", (4, 5), (3,), "Recent, with average frequency and spend."),
    Segment("new", "New", (5,), (1, 2), "Paid very recently, little so far."),
    Segment("promising", "Promising", (4,), (1, 2), "Paid recently, little so far."),
    Segment("need_attention", "Need attention", (3,), (1, 2, 3), "Middling recency, frequency and spend."),
    Segment("cannot_lose", "Cannot lose", (1, 2), (5,), "Were among the best, not seen for a while."),
    Segment("at_risk", "At risk", (1, 2), (3, 4), "Paid often or much, not recently."),
    Segment("hibernating", "Hibernating", (2,), (1, 2), "Little, and not recently."),
    Segment("lost", "Lost", (1,), (1, 2), "Least recent, least frequent, least spend."),
)
SEGMENT_NAMES = tuple(s.name for s in SEGMENTS)


def segment_for(recency: int, fm: int) -> str:
    return next(s.name for s in SEGMENTS if recency in s.recency and fm in s.fm)


_SEGMENT_OF = {(r, fm): segment_for(r, fm) for r in range(1, 6) for fm in range(1, 6)}


def quintile_scores(values: dict[Hashable, Any]) -> dict[Hashable, int]:
    """Score 1..5 per key by the mid-rank quintile of its value among all values (ties share a score)."""
    n = len(values)
    counts = Counter(values.values())
    score_of: dict[Any, int] = {}
    below = 0
    for value in sorted(counts):
        equal = counts[value]
        score_of[value] = 1 + (5 * (2 * below + equal)) // (2 * n)
        below += equal
    return {key: score_of[value] for key, value in values.items()}


def median(sorted_values: list[int]) -> int:
    n = len(sorted_values)
    middle = n // 2
    if n % 2:
        return sorted_values[middle]
    return round_half_up_ratio(sorted_values[middle - 1] + sorted_values[middle], 2)


def payments_in(period: Period) -> QuerySet[Payment]:
    return Payment.objects.filter(period.within())


def succeeded_in(period: Period) -> QuerySet[Payment]:
    return payments_in(period).filter(status=Payment.Status.SUCCEEDED)


# --- RFM -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class CustomerRfm:
    customer_id: str
    recency_days: int
    frequency: int
    monetary: dict[str, int]  # currency -> captured minor units
    payments: dict[str, int] = field(default_factory=dict)  # currency -> succeeded payments
    r: int = 0
    f: int = 0
    m: int = 0
    segment: str = ""

    @property
    def fm(self) -> int:
        return (self.f + self.m + 1) // 2


@dataclass
class Rfm:
    customers: dict[str, CustomerRfm] = field(default_factory=dict)

    def segment_counts(self) -> list[dict[str, Any]]:
        counts = Counter(c.segment for c in self.customers.values())
        total = len(self.customers)
        return [
            {
                "segment": s.name,
                "label": s.label,
                "customers": counts.get(s.name, 0),
                "share": rate(counts.get(s.name, 0), total) if total else None,
            }
            for s in SEGMENTS
        ]

    def spending(self) -> list[dict[str, Any]]:
        """Per currency: paying customers, total, and the average, median and largest per customer."""
        per_currency: dict[str, list[int]] = defaultdict(list)
        for customer in self.customers.values():
            for currency, amount in customer.monetary.items():
                per_currency[currency].append(amount)
        out = []
        for currency in sorted(per_currency):
            amounts = sorted(per_currency[currency])
            total = sum(amounts)
            out.append(
                {
                    "currency": currency,
                    "customers": len(amounts),
                    "total": total,
                    "average": round_half_up_ratio(total, len(amounts)),
                    "median": median(amounts),
                    "max": amounts[-1],
                }
            )
        return out


def rfm(period: Period) -> Rfm:
    # The last payment's UTC day, not its time: loading tens of thousands of time stamps cost more than the query.
    rows = (
        succeeded_in(period)
        .values_list("customer_id", "currency")
        # COUNT(*), not of the id: the period's rows are read from payment_created_cover_idx alone (PostgreSQL);
        # the sum as bigint, not numeric: Decimals cost more to load and add than the query to run.
        .annotate(last=Max(TruncDate("created", tzinfo=dt.UTC)), payments=Count("*"),
                  captured=Cast(Sum("amount_captured"), BigIntegerField()))
        .order_by()
    )
    result = Rfm()
    monetary_by_currency: dict[str, dict[Hashable, int]] = defaultdict(dict)
    days_before: dict[Any, int] = {}
    # Raw rows: the ORM's per-row converters cost a tenth of the whole; _as_date reads either backend's dates.
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    for customer_id, currency, last, payments, captured in fetched:
        days = days_before.get(last)
        if days is None:
            days = days_before[last] = (period.end - _as_date(last)).days
        customer = result.customers.get(customer_id)
        if customer is None:
            customer = result.customers[customer_id] = CustomerRfm(customer_id, days, 0, {})
        elif days < customer.recency_days:
            customer.recency_days = days
        customer.frequency += payments
        customer.payments[currency] = payments
        customer.monetary[currency] = captured or 0
        monetary_by_currency[currency][customer_id] = captured or 0
    if not result.customers:
        return result
    recency = quintile_scores({k: -c.recency_days for k, c in result.customers.items()})
    frequency = quintile_scores({k: c.frequency for k, c in result.customers.items()})
    monetary: dict[Hashable, int] = defaultdict(int)
    for amounts in monetary_by_currency.values():
        for key, score in quintile_scores(amounts).items():
            monetary[key] = max(monetary[key], score)
    for key, customer in result.customers.items():
        customer.r, customer.f, customer.m = recency[key], frequency[key], monetary[key]
        customer.segment = _SEGMENT_OF[customer.r, customer.fm]
    return result


# --- Cohorts -------------------------------------------------------------------------------------------------


def _as_date(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, str):  # SQLite's raw rows: "2026-03-01 00:00:00"
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):  # naive from a raw PostgreSQL row: already UTC
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    return value


def cohort_retention(period: Period) -> list[dict[str, Any]]:
    """One row per cohort month (the month of a customer's first succeeded payment ever), from the period's first
    month, or 11 months before its last month when that is earlier (a cohort table needs months to follow), to
    its last month. `m0`..`m12`: the share of the cohort with a succeeded payment in that month after the first
    (m0 is 1 by definition); months after the period's last month are empty (not happened yet). Months count
    whole, from the customer activity rollups (`CohortMonth`, refreshed every five minutes)."""
    end_month = month_start(period.end)
    first_month = min(month_start(period.start), add_months(end_month, -(COHORT_MONTHS - 1)))
    cells = CohortMonth.objects.filter(currency=period.currency or ANY_CURRENCY, cohort__gte=first_month,
                                       cohort__lte=end_month, month__lte=end_month)
    active: dict[dt.date, dict[int, int]] = defaultdict(dict)
    for cohort, month, customers in cells.values_list("cohort", "month", "customers"):
        active[cohort][months_between(cohort, month)] = customers
    out: list[dict[str, Any]] = []
    for cohort in sorted(active):
        size = active[cohort].get(0, 0)
        row: dict[str, Any] = {"cohort": cohort.strftime("%Y-%m"), "customers": size}
        for offset in range(COHORT_MONTHS + 1):
            followed = add_months(cohort, offset) <= end_month
            row[f"m{offset}"] = rate(active[cohort].get(offset, 0), size) if followed and size else None
        out.append(row)
    return out


# --- Top and new customers -----------------------------------------------------------------------------------


def top_customers(period: Period, limit: int = TOP_CUSTOMERS, scored: Rfm | None = None) -> list[dict[str, Any]]:
    """The `limit` customers with the largest captured volume in each currency (ties: more payments, then id),
    ranked from the period's `rfm` rows (`scored`, when the caller has them), with one query for their names."""
    return with_names(ranked(scored if scored is not None else rfm(period), limit))


def ranked(scored: Rfm, limit: int) -> list[dict[str, Any]]:
    """The top `limit` per currency from scored rows: customer id, currency, volume, payments, rank."""
    by_currency: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for customer in scored.customers.values():
        for currency, volume in customer.monetary.items():
            by_currency[currency].append((-volume, -customer.payments[currency], customer.customer_id))
    return [{"customer_id": customer_id, "currency": currency, "volume": -volume, "payments": -payments, "rank": rank}
            for currency in sorted(by_currency)
            for rank, (volume, payments, customer_id) in enumerate(sorted(by_currency[currency])[:limit], start=1)]


def with_names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with each customer's current name and e-mail (one query)."""
    names = dict((pk, (name, email)) for pk, name, email in Customer.objects.filter(
        pk__in={row["customer_id"] for row in rows}).values_list("pk", "name", "email"))
    return [{**row, "name": names.get(row["customer_id"], ("", ""))[0],
             "email": names.get(row["customer_id"], ("", ""))[1]} for row in rows]


def new_customers_by_day(period: Period) -> list[dict[str, Any]]:
    """Per day: customers created (signed up) that day, and customers whose first succeeded payment ever (in the
    period's currency when chosen) was that day (from the customer activity rollups). Days with neither are left
    out."""
    signed_up = (
        Customer.objects.filter(created__gte=period.since, created__lt=period.until)
        .annotate(day=TruncDate("created"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    first_payers = (
        CustomerFirstPayment.objects.filter(currency=period.currency or ANY_CURRENCY, first_at__gte=period.since,
                                            first_at__lt=period.until)
        .annotate(day=TruncDate("first_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    days: dict[dt.date, dict[str, Any]] = {}
    for key, rows in (("signed_up", signed_up), ("first_paid", first_payers)):
        for row in rows:
            day = _as_date(row["day"])
            days.setdefault(day, {"day": day.isoformat(), "signed_up": 0, "first_paid": 0})[key] = row["n"]
    return [days[d] for d in sorted(days)]


# --- Summary (tiles) -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    paying_customers: int
    repeat_customers: int
    new_customers: int
    revenue: dict[str, tuple[int, int]]  # currency -> (captured, paying customers in that currency)

    @property
    def repeat_rate(self) -> Decimal | None:
        return rate(self.repeat_customers, self.paying_customers)

    def average_revenue(self, currency: str) -> int | None:
        captured, customers = self.revenue.get(currency, (0, 0))
        return round_half_up_ratio(captured, customers) if customers else None


def new_customers(period: Period) -> int:
    """Customers created (signed up) in the period."""
    return Customer.objects.filter(created__gte=period.since, created__lt=period.until).count()


def summary(period: Period, scored: Rfm | None = None) -> Summary:
    """The period's paying, repeat and new customers and revenue per currency: from the per-customer rows of its
    `rfm` when the caller has them (`scored`), else aggregated by the database (no per-customer row loaded)."""
    new = new_customers(period)
    if scored is None:
        return _summary_counted(period, new)
    revenue_of: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for customer in scored.customers.values():
        for currency, captured in customer.monetary.items():
            revenue_of[currency][0] += captured
            revenue_of[currency][1] += 1
    return Summary(
        len(scored.customers),
        sum(1 for customer in scored.customers.values() if customer.frequency >= 2),
        new,
        {currency: (captured, customers) for currency, (captured, customers) in sorted(revenue_of.items())},
    )


def _summary_counted(period: Period, new: int) -> Summary:
    """One query: the period's succeeded payments per (customer, currency), then per currency (revenue, paying
    customers) and per customer (paying, repeat)."""
    per = (succeeded_in(period).values("customer_id", "currency")
           .annotate(n=Count("*"), captured=Sum("amount_captured")).order_by())
    inner, params = per.query.sql_with_params()
    sql = (f"WITH per AS ({inner}) "
           f"SELECT currency, COUNT(*), SUM(captured), 0 FROM per GROUP BY currency "
           f"UNION ALL SELECT '', COUNT(*), SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 1 FROM ("
           f"SELECT customer_id, SUM(n) AS n FROM per GROUP BY customer_id) customers")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    revenue = {currency: (int(captured or 0), int(customers))
               for currency, customers, captured, whole in sorted(rows) if not whole}
    paying, repeat = next((int(n), int(r or 0)) for _c, n, r, whole in rows if whole)
    return Summary(paying, repeat, new, revenue)


# --- One customer --------------------------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def customer_behavior(period: Period, customer_id: str) -> dict[str, Any]:
    """One customer's segment (scored among everyone who paid in the period), spending per currency, methods,
    hours and weekdays, refund and failure ratios, engagement, and the change against the previous period.
    Raises not_found (404) for an unknown customer."""
    customer = customer_get(customer_id=customer_id)
    scores = rfm(period).customers.get(customer.pk)
    mine = payments_in(period).filter(customer=customer)
    succeeded = mine.filter(status=Payment.Status.SUCCEEDED)
    amounts: dict[str, list[int]] = defaultdict(list)
    refunded: dict[str, int] = defaultdict(int)
    refunded_payments = 0
    for currency, captured, refund in succeeded.order_by("currency", "amount_captured").values_list(
        "currency", "amount_captured", "amount_refunded"
    ):
        amounts[currency].append(captured)
        refunded[currency] += refund
        refunded_payments += 1 if refund else 0
    spending: list[dict[str, Any]] = [
        {
            "currency": c,
            "payments": len(v),
            "total": sum(v),
            "average": round_half_up_ratio(sum(v), len(v)),
            "median": median(v),
            "refunded": refunded[c],
            "refund_ratio": rate(refunded[c], sum(v)),
        }
        for c, v in sorted(amounts.items())
    ]
    statuses = dict(mine.values_list("status").annotate(n=Count("id")).order_by())
    attempted = sum(statuses.values())
    methods = [
        {"method": row["method"], "payments": row["n"]}
        for row in succeeded.values("method").annotate(n=Count("id")).order_by("-n", "method")
    ]
    hours = dict(succeeded.annotate(h=ExtractHour("created")).values_list("h").annotate(n=Count("id")).order_by())
    weekdays = dict(
        succeeded.annotate(d=ExtractIsoWeekDay("created")).values_list("d").annotate(n=Count("id")).order_by()
    )
    ever = Payment.objects.filter(customer=customer, status=Payment.Status.SUCCEEDED).aggregate(
        first=Min("created"), last=Max("created")
    )
    days_active = succeeded.annotate(day=TruncDate("created")).values("day").distinct().count()
    previous = _totals(succeeded_in(period.previous()).filter(customer=customer))
    current: dict[str, dict[str, Any]] = {str(row["currency"]): row for row in spending}
    trend = [
        {
            "currency": c,
            "total": current.get(c, {}).get("total", 0),
            "previous_total": previous.get(c, (0, 0))[0],
            "payments": current.get(c, {}).get("payments", 0),
            "previous_payments": previous.get(c, (0, 0))[1],
        }
        for c in sorted(set(current) | set(previous))
    ]
    return {
        "customer": customer,
        "segment": None
        if scores is None
        else {
            "segment": scores.segment,
            "recency_score": scores.r,
            "frequency_score": scores.f,
            "monetary_score": scores.m,
            "recency_days": scores.recency_days,
            "frequency": scores.frequency,
        },
        "spending": spending,
        "preferred_methods": methods,
        "hours": [{"hour": h, "payments": hours.get(h, 0)} for h in range(24)],
        "weekdays": [{"weekday": name, "payments": weekdays.get(i, 0)} for i, name in enumerate(WEEKDAYS, start=1)],
        "payments": attempted,
        "succeeded": statuses.get(Payment.Status.SUCCEEDED, 0),
        "failed": statuses.get(Payment.Status.FAILED, 0),
        "failure_ratio": rate(statuses.get(Payment.Status.FAILED, 0), attempted),
        "refunded_payments": refunded_payments,
        "refunded_payment_ratio": rate(refunded_payments, statuses.get(Payment.Status.SUCCEEDED, 0)),
        "first_payment_at": ever["first"],
        "last_payment_at": ever["last"],
        "days_active": days_active,
        "trend": trend,
    }


def _totals(payments: QuerySet[Payment]) -> dict[str, tuple[int, int]]:
    return {
        row["currency"]: (row["total"] or 0, row["n"])
        for row in payments.values("currency").annotate(total=Sum("amount_captured"), n=Count("id")).order_by()
    }


def all_customers_behavior(period: Period) -> dict[str, Any]:
    """Everyone who paid in the period: segment counts and shares, spending distribution per currency, and the
    summary figures of the customers page."""
    scored = rfm(period)
    numbers = summary(period, scored)
    return {
        "paying_customers": numbers.paying_customers,
        "repeat_customers": numbers.repeat_customers,
        "repeat_rate": numbers.repeat_rate,
        "new_customers": numbers.new_customers,
        "segments": scored.segment_counts(),
        "spending": scored.spending(),
    }
