"""The payments page's numbers (and `get_payment_metrics`), over a period of UTC days.

Definitions (docs/dashboards/payments.md says the same for people):
- Payments belong to the day they were created. Success rate: succeeded / (succeeded + failed) among them.
- Decline reasons: failed payments per `failure_code` ("unspecified" when the provider gave none), with their
  share of the failed payments.
- Provider performance: `PaymentAttempt`s created in the period (every try of every provider, so retries and
  fallbacks count), per provider: attempts, successes (authorised or captured), declines, unreachable; success
  rate = successes / attempts; routing share = the provider's attempts / all attempts.
- Authorisation latency: p50 and p95 of `latency_ms` of those attempts (attempts without a latency are left
  out), interpolated linearly between ranks as PostgreSQL's percentile_cont does.
- Refund rate per currency, over the payments created in the period that captured money: refunded amount /
  captured amount, and refunded payments (with any refund) / captured payments.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q

from payments.models import PaymentAttempt

from ..dashboards.period import Period
from . import payment_days, rate

UNSPECIFIED = "unspecified"
SUCCESSFUL_ATTEMPT = (PaymentAttempt.Status.AUTHORISED, PaymentAttempt.Status.CAPTURED)


def _attempts(period: Period):
    return PaymentAttempt.objects.filter(period.within(currency_field="payment__currency"))


def success_totals(period: Period, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Succeeded, failed and the rate in the period and the previous one. `rows`: the payment days of both
    periods (`period.with_previous()`) when the caller has them."""
    rows = payment_days.day_rows(period.with_previous()) if rows is None else rows
    now = [r for r in rows if r["day"] >= period.start]
    before = [r for r in rows if r["day"] < period.start]
    ok, failed = sum(r["succeeded"] for r in now), sum(r["failed"] for r in now)
    ok_before, failed_before = sum(r["succeeded"] for r in before), sum(r["failed"] for r in before)
    return {
        "succeeded": ok,
        "failed": failed,
        "rate": rate(ok, ok + failed),
        "previous_succeeded": ok_before,
        "previous_failed": failed_before,
        "previous_rate": rate(ok_before, ok_before + failed_before),
    }


def success_by_day(period: Period, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = payment_days.day_rows(period) if rows is None else rows
    days: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["succeeded"] or r["failed"]:
            days[r["day"]][0] += r["succeeded"]
            days[r["day"]][1] += r["failed"]
    return [
        {"day": day.isoformat(), "succeeded": ok, "failed": failed, "success_rate": rate(ok, ok + failed)}
        for day, (ok, failed) in sorted(days.items())
    ]


def decline_reasons(period: Period, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = payment_days.day_rows(period) if rows is None else rows
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["failed"]:  # a blank code and "unspecified" are the same reason
            counts[r["failure_code"] or UNSPECIFIED] += r["failed"]
    total = sum(counts.values())
    return [
        {"code": code, "payments": n, "share": rate(n, total)}
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def providers(period: Period) -> list[dict[str, Any]]:
    rows = list(
        _attempts(period)
        .values("provider")
        .annotate(
            attempts=Count("id"),
            successes=Count("id", filter=Q(status__in=SUCCESSFUL_ATTEMPT)),
            declined=Count("id", filter=Q(status=PaymentAttempt.Status.DECLINED)),
            unreachable=Count("id", filter=Q(status=PaymentAttempt.Status.UNREACHABLE)),
        )
        .order_by("provider")
    )
    total = sum(r["attempts"] for r in rows)
    return [
        {**r, "success_rate": rate(r["successes"], r["attempts"]), "share": rate(r["attempts"], total)} for r in rows
    ]


class _PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY expr)."""

    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, percentile: float, **extra):
        super().__init__(expression, percentile=float(percentile), **extra)


def percentile(values: list[int], p: float) -> float | None:
    """Linear interpolation between the closest ranks of sorted `values` (percentile_cont's definition)."""
    if not values:
        return None
    position = p * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _ms(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def latency(period: Period) -> list[dict[str, Any]]:
    """p50/p95 authorisation latency per provider: in the database on PostgreSQL; elsewhere (SQLite, development
    only) from the latencies read in one query, sorted by the database."""
    timed = _attempts(period).filter(latency_ms__isnull=False)
    if connection.vendor == "postgresql":
        rows = (
            timed.values("provider")
            .annotate(
                attempts=Count("id"),
                p50=_PercentileCont(F("latency_ms"), 0.5),
                p95=_PercentileCont(F("latency_ms"), 0.95),
            )
            .order_by("provider")
        )
        return [
            {"provider": r["provider"], "attempts": r["attempts"], "p50_ms": _ms(r["p50"]), "p95_ms": _ms(r["p95"])}
            for r in rows
        ]
    by_provider: dict[str, list[int]] = defaultdict(list)
    for provider, ms in timed.order_by("provider", "latency_ms").values_list("provider", "latency_ms"):
        by_provider[provider].append(ms)
    return [
        {
            "provider": provider,
            "attempts": len(values),
            "p50_ms": _ms(percentile(values, 0.5)),
            "p95_ms": _ms(percentile(values, 0.95)),
        }
        for provider, values in sorted(by_provider.items())
    ]


def refund_rates(period: Period, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = payment_days.day_rows(period) if rows is None else rows
    sums: dict[str, dict[str, int]] = {}
    for r in rows:
        if r["captured_payments"]:
            total = sums.setdefault(r["currency"], dict.fromkeys(("payments", "captured", "refunded",
                                                                   "refunded_payments"), 0))
            total["payments"] += r["captured_payments"]
            total["captured"] += r["captured_amount"]
            total["refunded"] += r["refunded_amount"]
            total["refunded_payments"] += r["refunded_payments"]
    return [
        {
            "currency": currency,
            **total,
            "amount_rate": rate(total["refunded"], total["captured"]),
            "count_rate": rate(total["refunded_payments"], total["payments"]),
        }
        for currency, total in sorted(sums.items())
    ]


def payment_metrics(period: Period) -> dict[str, Any]:
    """Everything the payments page shows: the payment days of the period and the previous one, and the
    attempts."""
    rows = payment_days.day_rows(period.with_previous())
    current = payment_days.between(rows, period.start, period.end)
    return {
        "period": period,
        "totals": success_totals(period, rows),
        "by_day": success_by_day(period, current),
        "decline_reasons": decline_reasons(period, current),
        "providers": providers(period),
        "latency": latency(period),
        "refunds": refund_rates(period, current),
    }
