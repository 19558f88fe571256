"""Revenue: gross, fees, refunds and net per currency by day, week or month, by payment method and by provider;
the daily gross series the forecast learns from; the stored forecasts.

Definitions (docs/dashboards/revenue.md says the same):
- gross: `Payment.amount_captured` of payments captured in the period, on their capture day (`captured_at`);
- fees: `Payment.fee_amount` of those same payments (the provider's fee is charged at capture);
- refunds: `Refund.amount` of succeeded refunds, on the day the refund was made (`Refund.created`);
- fees returned: `Refund.fee_returned` of those refunds (providers give back a proportional share of the fee);
- net: gross - fees - refunds + fees returned.
All are integer minor units of their currency; a period is [since, until) in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db.models import OuterRef, Subquery

from monitoring.dashboards.period import InvalidPeriod, Period
from monitoring.models import RevenueForecast

from . import payment_days

INTERVALS = ("day", "week", "month")


def parse_interval(value: str | None) -> str:
    """`?interval=`: day (default), week (ISO, from Monday) or month; anything else is `invalid_period` (400)."""
    interval = (value or "day").strip().lower()
    if interval not in INTERVALS:
        raise InvalidPeriod("interval must be one of day, week, month.", details={"field": "interval"})
    return interval


def _bucket(day: dt.date, interval: str) -> dt.date:
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _summed(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], tuple]) -> list[dict[str, Any]]:
    """Captured and refunded sums per `key` (a tuple of (name, value) pairs), for keys with a capture or a refund;
    sorted by the keys' text, net added."""
    sums: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        if not (row["captures"] or row["refund_count"]):
            continue
        names = key(row)
        total = sums.setdefault(names, {**dict(names), **dict.fromkeys(_SUMMED, 0)})
        for name, field in _SUMMED.items():
            total[name] += row[field]
    out = []
    for names in sorted(sums, key=lambda k: tuple(str(value) for _name, value in k)):
        row = sums[names]
        row["net"] = row["gross"] - row["fees"] - row["refunds"] + row["fees_returned"]
        out.append(row)
    return out


# output name -> PaymentDay measure
_SUMMED = {"gross": "gross", "fees": "fees", "payments": "captures", "refunds": "refunds",
           "fees_returned": "fees_returned", "refund_count": "refund_count"}


def revenue_by_interval(period: Period, interval: str = "day",
                        rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per (bucket, currency) with activity: bucket is the first day of the day/week/month (the first
    and last buckets hold only the period's days). `rows`: the period's payment days when the caller has them."""
    rows = payment_days.day_rows(period) if rows is None else rows
    out = _summed(rows, lambda r: (("bucket", _bucket(r["day"], interval).isoformat()), ("currency", r["currency"])))
    return sorted(out, key=lambda r: (r["bucket"], r["currency"]))


def revenue_by(period: Period, dimension: str, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Period totals per (method or provider, currency); refunds count under their payment's method/provider."""
    if dimension not in ("method", "provider"):
        raise ValueError(dimension)
    rows = payment_days.day_rows(period) if rows is None else rows
    out = _summed(rows, lambda r: ((dimension, r[dimension]), ("currency", r["currency"])))
    for row in out:
        row[dimension] = row[dimension] or "(none)"
    return out


def revenue_totals(period: Period, rows: list[dict[str, Any]] | None = None) -> dict[str, dict[str, int]]:
    """Per currency: gross, fees, refunds, fees_returned, net (and counts) over the whole period. `rows`: the
    period's payment days when the caller has them."""
    rows = payment_days.day_rows(period) if rows is None else rows
    return {row.pop("currency"): row for row in _summed(rows, lambda r: (("currency", r["currency"]),))}


def daily_gross(*, end: dt.date, days: int, currency: str | None = None) -> dict[str, list[tuple[dt.date, int]]]:
    """Per currency, gross by capture day over the `days` days up to `end` (inclusive), zero-filled from the
    currency's first day with a capture: the forecast's training series."""
    start = end - dt.timedelta(days=days - 1)
    by_currency: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for row in payment_days.day_rows(Period(start, end, currency)):
        if row["captures"]:
            values = by_currency[row["currency"]]
            values[row["day"]] = values.get(row["day"], 0) + row["gross"]
    series: dict[str, list[tuple[dt.date, int]]] = {}
    for code, values in sorted(by_currency.items()):
        first = min(values)
        series[code] = [(first + dt.timedelta(days=i), values.get(first + dt.timedelta(days=i), 0))
                        for i in range((end - first).days + 1)]
    return series


def latest_forecasts(currency: str | None = None) -> list[RevenueForecast]:
    """The newest stored forecast of each currency (one query)."""
    newest = (RevenueForecast.objects.filter(currency=OuterRef("currency")).order_by("-computed_at")
              .values("computed_at")[:1])
    forecasts = RevenueForecast.objects.filter(computed_at=Subquery(newest))
    if currency:
        forecasts = forecasts.filter(currency=currency)
    return list(forecasts.order_by("currency"))


def forecast_data(forecast: RevenueForecast) -> dict[str, Any]:
    """A stored forecast as the API renders it (points carry their currency for the money fields)."""
    return {"currency": forecast.currency, "computed_at": forecast.computed_at, "model": forecast.model_name,
            "model_version": forecast.model_version, "horizon": forecast.horizon, "mape": forecast.mape,
            "baseline_mape": forecast.baseline_mape, "training_start": forecast.training_start,
            "training_end": forecast.training_end, "origins": forecast.origins,
            "backtest_points": forecast.backtest_points, "excluded_zero_days": forecast.excluded_zero_days,
            "points": [{**p, "currency": forecast.currency} for p in forecast.points]}


def revenue_analytics(period: Period, interval: str = "day") -> dict[str, Any]:
    """Everything `generate_revenue_analytics` answers: totals, the three breakdowns and the stored forecasts."""
    rows = payment_days.day_rows(period)
    by_interval = revenue_by_interval(period, interval, rows)
    totals = revenue_totals(period, rows)
    forecasts = latest_forecasts(period.currency)
    with_forecast = {f.currency for f in forecasts}
    return {
        "from": period.start, "to": period.end, "currency": period.currency, "interval": interval,
        "totals": [{"currency": code, **row} for code, row in sorted(totals.items())],
        "by_interval": by_interval,
        "by_method": revenue_by(period, "method", rows),
        "by_provider": revenue_by(period, "provider", rows),
        "forecasts": [forecast_data(f) for f in forecasts],
        "currencies_without_forecast": sorted(set(totals) - with_forecast),
    }
