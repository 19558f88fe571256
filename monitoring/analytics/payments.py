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
from django.db.models import Aggregate, Count, F, FloatField, Q, Sum
from django.db.models.functions import TruncDate

from payments.models import Payment, PaymentAttempt

from ..dashboards.period import Period
from . import rate

UNSPECIFIED = "unspecified"
SUCCESSFUL_ATTEMPT = (PaymentAttempt.Status.AUTHORISED, PaymentAttempt.Status.CAPTURED)


def _payments(period: Period):
    return Payment.objects.filter(period.within())


def _attempts(period: Period):
    return PaymentAttempt.objects.filter(period.within(currency_field="payment__currency"))


def success_totals(period: Period) -> dict[str, Any]:
    """Succeeded, failed and the rate in the period and the previous one (one query)."""
    qs = _payments(period.with_previous()).filter(status__in=[Payment.Status.SUCCEEDED, Payment.Status.FAILED])
    now = Q(created__gte=period.since)
    ok, failed = Q(status=Payment.Status.SUCCEEDED), Q(status=Payment.Status.FAILED)
    row = qs.aggregate(
        ok=Count("id", filter=now & ok),
        failed=Count("id", filter=now & failed),
        ok_before=Count("id", filter=~now & ok),
        failed_before=Count("id", filter=~now & failed),
    )
    return {
        "succeeded": row["ok"],
        "failed": row["failed"],
        "rate": rate(row["ok"], row["ok"] + row["failed"]),
        "previous_succeeded": row["ok_before"],
        "previous_failed": row["failed_before"],
        "previous_rate": rate(row["ok_before"], row["ok_before"] + row["failed_before"]),
    }


def success_by_day(period: Period) -> list[dict[str, Any]]:
    rows = (
        _payments(period)
        .filter(status__in=[Payment.Status.SUCCEEDED, Payment.Status.FAILED])
        .annotate(day=TruncDate("created"))
        .values("day")
        .annotate(
            ok=Count("id", filter=Q(status=Payment.Status.SUCCEEDED)),
            failed=Count("id", filter=Q(status=Payment.Status.FAILED)),
        )
        .order_by("day")
    )
    return [
        {
            "day": r["day"].isoformat(),
            "succeeded": r["ok"],
            "failed": r["failed"],
            "success_rate": rate(r["ok"], r["ok"] + r["failed"]),
        }
        for r in rows
    ]


def decline_reasons(period: Period) -> list[dict[str, Any]]:
    rows = list(
        _payments(period)
        .filter(status=Payment.Status.FAILED)
        .values("failure_code")
        .annotate(n=Count("id"))
        .order_by("-n", "failure_code")
    )
    counts: dict[str, int] = defaultdict(int)
    for r in rows:  # a blank code and "unspecified" are the same reason
        counts[r["failure_code"] or UNSPECIFIED] += r["n"]
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


def refund_rates(period: Period) -> list[dict[str, Any]]:
    rows = (
        _payments(period)
        .filter(amount_captured__gt=0)
        .values("currency")
        .annotate(
            payments=Count("id"),
            captured=Sum("amount_captured"),
            refunded=Sum("amount_refunded"),
            refunded_payments=Count("id", filter=Q(amount_refunded__gt=0)),
        )
        .order_by("currency")
    )
    return [
        {
            "currency": r["currency"],
            "payments": r["payments"],
            "refunded_payments": r["refunded_payments"],
            "captured": r["captured"] or 0,
            "refunded": r["refunded"] or 0,
            "amount_rate": rate(r["refunded"] or 0, r["captured"] or 0),
            "count_rate": rate(r["refunded_payments"], r["payments"]),
        }
        for r in rows
    ]


def payment_metrics(period: Period) -> dict[str, Any]:
    """Everything the payments page shows (six queries)."""
    return {
        "period": period,
        "totals": success_totals(period),
        "by_day": success_by_day(period),
        "decline_reasons": decline_reasons(period),
        "providers": providers(period),
        "latency": latency(period),
        "refunds": refund_rates(period),
    }
