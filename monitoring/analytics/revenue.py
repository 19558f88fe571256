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
from typing import Any

from django.db.models import Count, DateTimeField, F, OuterRef, Subquery, Sum
from django.db.models.functions import Trunc

from monitoring.dashboards.period import InvalidPeriod, Period
from monitoring.models import RevenueForecast
from payments.models import Payment, Refund

INTERVALS = ("day", "week", "month")
MEASURES = ("gross", "fees", "refunds", "fees_returned", "net")


def parse_interval(value: str | None) -> str:
    """`?interval=`: day (default), week (ISO, from Monday) or month; anything else is `invalid_period` (400)."""
    interval = (value or "day").strip().lower()
    if interval not in INTERVALS:
        raise InvalidPeriod("interval must be one of day, week, month.", details={"field": "interval"})
    return interval


def _captures(period: Period):
    return Payment.objects.filter(period.within("captured_at"), amount_captured__gt=0)


def _refunds(period: Period):
    return Refund.objects.filter(period.within(), status=Refund.Status.SUCCEEDED)


def _net(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("gross", "fees", "refunds", "fees_returned", "payments", "refund_count"):
        row[key] = row.get(key) or 0
    row["net"] = row["gross"] - row["fees"] - row["refunds"] + row["fees_returned"]
    return row


def _merge(captures, refunds, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Captured and refunded sums side by side, keyed by `keys` (two aggregate queries, merged here)."""
    rows: dict[tuple, dict[str, Any]] = {}
    for r in captures:
        rows[tuple(r[k] for k in keys)] = {**{k: r[k] for k in keys}, "gross": r["gross"], "fees": r["fees"],
                                           "payments": r["payments"]}
    for r in refunds:
        row = rows.setdefault(tuple(r[k] for k in keys), {k: r[k] for k in keys})
        row.update(refunds=r["refunds"], fees_returned=r["fees_returned"], refund_count=r["refund_count"])
    return [_net(rows[key]) for key in sorted(rows, key=lambda k: tuple(str(v) for v in k))]


_CAPTURED = {"gross": Sum("amount_captured"), "fees": Sum("fee_amount"), "payments": Count("id")}
_REFUNDED = {"refunds": Sum("amount"), "fees_returned": Sum("fee_returned"), "refund_count": Count("id")}


def revenue_by_interval(period: Period, interval: str = "day") -> list[dict[str, Any]]:
    """One row per (bucket, currency) with activity: bucket is the first day of the day/week/month (the first
    and last buckets hold only the period's days)."""
    captures = (_captures(period)
                .annotate(bucket=Trunc("captured_at", interval, output_field=DateTimeField(), tzinfo=dt.UTC))
                .values("bucket", "currency").annotate(**_CAPTURED).order_by())
    refunds = (_refunds(period).annotate(bucket=Trunc("created", interval, output_field=DateTimeField(),
                                                      tzinfo=dt.UTC))
               .values("bucket", "currency").annotate(**_REFUNDED).order_by())
    rows = _merge(captures, refunds, ("bucket", "currency"))
    for row in rows:
        row["bucket"] = row["bucket"].astimezone(dt.UTC).date().isoformat()
    return sorted(rows, key=lambda r: (r["bucket"], r["currency"]))


def revenue_by(period: Period, dimension: str) -> list[dict[str, Any]]:
    """Period totals per (method or provider, currency); refunds count under their payment's method/provider."""
    if dimension not in ("method", "provider"):
        raise ValueError(dimension)
    captures = _captures(period).values(dimension, "currency").annotate(**_CAPTURED).order_by()
    refunds = (_refunds(period).values("currency", **{dimension: F(f"payment__{dimension}")})
               .annotate(**_REFUNDED).order_by())
    rows = _merge(captures, refunds, (dimension, "currency"))
    for row in rows:
        row[dimension] = row[dimension] or "(none)"
    return rows


def revenue_totals(period: Period, by_interval: list[dict[str, Any]] | None = None) -> dict[str, dict[str, int]]:
    """Per currency: gross, fees, refunds, fees_returned, net (and counts) over the whole period. `by_interval`,
    the period's `revenue_by_interval` rows when the caller has them: the totals are their sums (no query)."""
    if by_interval is None:
        captures = _captures(period).values("currency").annotate(**_CAPTURED).order_by()
        refunds = _refunds(period).values("currency").annotate(**_REFUNDED).order_by()
        return {row.pop("currency"): row for row in _merge(captures, refunds, ("currency",))}
    totals: dict[str, dict[str, int]] = {}
    for row in by_interval:
        total = totals.setdefault(row["currency"], dict.fromkeys((*MEASURES, "payments", "refund_count"), 0))
        for key in total:
            total[key] += row[key]
    return dict(sorted(totals.items()))


def daily_gross(*, end: dt.date, days: int, currency: str | None = None) -> dict[str, list[tuple[dt.date, int]]]:
    """Per currency, gross by capture day over the `days` days up to `end` (inclusive), zero-filled from the
    currency's first day with a capture: the forecast's training series."""
    start = end - dt.timedelta(days=days - 1)
    period = Period(start, end, currency)
    rows = (_captures(period).annotate(day=Trunc("captured_at", "day", output_field=DateTimeField(), tzinfo=dt.UTC))
            .values("day", "currency").annotate(gross=Sum("amount_captured")).order_by())
    by_currency: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        by_currency[row["currency"]][row["day"].astimezone(dt.UTC).date()] = row["gross"]
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
    by_interval = revenue_by_interval(period, interval)
    totals = revenue_totals(period, by_interval)
    forecasts = latest_forecasts(period.currency)
    with_forecast = {f.currency for f in forecasts}
    return {
        "from": period.start, "to": period.end, "currency": period.currency, "interval": interval,
        "totals": [{"currency": code, **row} for code, row in sorted(totals.items())],
        "by_interval": by_interval,
        "by_method": revenue_by(period, "method"),
        "by_provider": revenue_by(period, "provider"),
        "forecasts": [forecast_data(f) for f in forecasts],
        "currencies_without_forecast": sorted(set(totals) - with_forecast),
    }
