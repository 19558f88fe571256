"""Payments per UTC day (`monitoring.models.PaymentDay`): one SELECT defines the figures; the rollup stores its
rows for the days before its last refresh, and readers compute the days since then (today at least) with the same
SELECT over the payments themselves: a stored day reads as the SELECT gave it at the last refresh (a later change
to it, such as a refund today of a payment created that day, shows after the next refresh, within five minutes).

Per (day, currency, method, provider, failure code of failed payments):
- payments created on the day: how many, succeeded, failed; of those that captured money, how many, the amount
  captured and the amount refunded so far (`Payment.amount_refunded`: refunds not failed), and how many have any;
- money captured on the day (`captured_at`, any creation day): gross (`amount_captured`), fees, captures;
- succeeded refunds made on the day (`Refund.created`), under their payment's method and provider: amount, fees
  returned, count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from payments.models import Payment, Refund

from ..dashboards.period import Period
from ..models import PaymentDay, RollupBuild

NAME = "payment_days"
KEYS = ("day", "currency", "method", "provider", "failure_code")
CREATED = ("payments", "succeeded", "failed", "captured_payments", "captured_amount", "refunded_amount",
           "refunded_payments")
CAPTURED = ("gross", "fees", "captures")
REFUNDED = ("refunds", "fees_returned", "refund_count")
MEASURES = CREATED + CAPTURED + REFUNDED


def utc_date_sql(expression: str, unit: str = "day") -> str:
    """SQL for the UTC day (or the first day of the UTC month, `unit="month"`) of a timestamp expression, on
    PostgreSQL or SQLite (which stores UTC text)."""
    if connection.vendor == "postgresql":
        return f"(date_trunc('{unit}', ({expression}) AT TIME ZONE 'UTC'))::date"
    return f"date({expression})" if unit == "day" else f"date({expression}, 'start of month')"


def _zeros(names: tuple[str, ...]) -> str:
    return ", ".join(f"0 AS {name}" for name in names)


def select_sql(currency: str | None = None) -> str:
    """The rows of [%(since)s, %(until)s) (named parameters), one per key, measures summed; `currency` adds a
    `%(currency)s` filter."""
    payments, refunds = Payment._meta.db_table, Refund._meta.db_table
    only = " AND {0}currency = %(currency)s" if currency else ""
    ok, failed = "'" + Payment.Status.SUCCEEDED.value + "'", "'" + Payment.Status.FAILED.value + "'"
    created = (
        f"SELECT {utc_date_sql('created')} AS day, currency, method, provider, "
        f"CASE WHEN status = {failed} THEN failure_code ELSE '' END AS failure_code, COUNT(*) AS payments, "
        f"SUM(CASE WHEN status = {ok} THEN 1 ELSE 0 END) AS succeeded, "
        f"SUM(CASE WHEN status = {failed} THEN 1 ELSE 0 END) AS failed, "
        f"SUM(CASE WHEN amount_captured > 0 THEN 1 ELSE 0 END) AS captured_payments, "
        f"SUM(CASE WHEN amount_captured > 0 THEN amount_captured ELSE 0 END) AS captured_amount, "
        f"SUM(CASE WHEN amount_captured > 0 THEN amount_refunded ELSE 0 END) AS refunded_amount, "
        f"SUM(CASE WHEN amount_captured > 0 AND amount_refunded > 0 THEN 1 ELSE 0 END) AS refunded_payments, "
        f"{_zeros(CAPTURED + REFUNDED)} FROM {payments} "
        f"WHERE created >= %(since)s AND created < %(until)s{only.format('')} GROUP BY 1, 2, 3, 4, 5")
    captured = (
        f"SELECT {utc_date_sql('captured_at')}, currency, method, provider, '', {_zeros(CREATED)}, "
        f"SUM(amount_captured), SUM(fee_amount), COUNT(*), {_zeros(REFUNDED)} FROM {payments} "
        f"WHERE captured_at >= %(since)s AND captured_at < %(until)s AND amount_captured > 0{only.format('')} "
        f"GROUP BY 1, 2, 3, 4")
    refunded = (
        f"SELECT {utc_date_sql('r.created')}, r.currency, p.method, p.provider, '', {_zeros(CREATED + CAPTURED)}, "
        f"SUM(r.amount), SUM(r.fee_returned), COUNT(*) FROM {refunds} r JOIN {payments} p ON p.id = r.payment_id "
        f"WHERE r.status = '{Refund.Status.SUCCEEDED.value}' AND r.created >= %(since)s AND r.created < %(until)s"
        f"{only.format('r.')} GROUP BY 1, 2, 3, 4")
    sums = ", ".join(f"SUM({name})" for name in MEASURES)
    return (f"SELECT {', '.join(KEYS)}, {sums} FROM ({created} UNION ALL {captured} UNION ALL {refunded}) parts "
            f"GROUP BY {', '.join(KEYS)}")


def params(since: dt.datetime, until: dt.datetime, currency: str | None = None) -> dict[str, Any]:
    ops = connection.ops
    out: dict[str, Any] = {"since": ops.adapt_datetimefield_value(since),
                           "until": ops.adapt_datetimefield_value(until)}
    if currency:
        out["currency"] = currency
    return out


def computed_rows(start: dt.date, end: dt.date, currency: str | None = None) -> list[dict[str, Any]]:
    """The days start..end (inclusive) computed from the payments (what the rollup would store)."""
    with connection.cursor() as cursor:
        days = Period(start, end)
        cursor.execute(select_sql(currency), params(days.since, days.until, currency))
        rows = cursor.fetchall()
    out = []
    for row in rows:
        day = row[0] if isinstance(row[0], dt.date) else dt.date.fromisoformat(row[0])
        out.append({"day": day, "currency": row[1], "method": row[2], "provider": row[3], "failure_code": row[4],
                    **{name: int(value or 0) for name, value in zip(MEASURES, row[5:], strict=True)}})
    return out


def stored_until() -> dt.date | None:
    """The first day the rollup does not hold complete: its last refresh's UTC day (None: never built)."""
    refreshed = RollupBuild.objects.filter(name=NAME).values_list("refreshed_at", flat=True).first()
    return None if refreshed is None else refreshed.astimezone(dt.UTC).date()


def day_rows(period: Period) -> list[dict[str, Any]]:
    """The period's rows: the rollup's for the days before its last refresh, computed for the days since."""
    cutoff = stored_until()
    rows: list[dict[str, Any]] = []
    live_from = period.start
    if cutoff is not None and cutoff > period.start:
        stored = PaymentDay.objects.filter(day__gte=period.start, day__lt=min(cutoff, period.end + dt.timedelta(1)))
        if period.currency:
            stored = stored.filter(currency=period.currency)
        rows = list(stored.values(*KEYS, *MEASURES))
        live_from = cutoff
    if live_from <= period.end:
        rows += computed_rows(live_from, period.end, period.currency)
    return rows


def between(rows: list[dict[str, Any]], start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    return [row for row in rows if start <= row["day"] <= end]
