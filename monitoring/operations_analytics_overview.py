"""`get_dashboard_metrics` (the overview's tiles) and `get_payment_metrics` (the payments page's numbers): the
same selectors as the admin pages, for agents and REST."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.context import Actor
from core.operations import Operation, register

from .analytics.overview import overview_metrics
from .analytics.payments import payment_metrics
from .dashboards.charts import Column, Tile, plain
from .dashboards.page_overview import sections
from .dashboards.period import Period
from .serializers_analytics_overview import (
    DashboardInput,
    DashboardMetricsSerializer,
    PaymentMetricsInput,
    PaymentMetricsSerializer,
)

ANALYTICS = ("analytics",)
_FOUR = Decimal("0.0001")


def _text(tile: Tile, value: Any) -> str | None:
    # As the CSV downloads hold it: money a decimal string in the tile's currency, rates fractions.
    return None if value is None else plain(Column("value", tile.label, tile.kind), {"value": value,
                                                                                  "currency": tile.currency})


def _change(tile: Tile) -> str | None:
    fraction = tile.change_fraction
    return None if fraction is None else str(fraction.quantize(_FOUR, rounding=ROUND_HALF_UP))


def tile_json(tile: Tile) -> dict[str, Any]:
    return {
        "key": tile.key,
        "label": tile.label,
        "kind": tile.kind,
        "currency": tile.currency,
        "value": _text(tile, tile.value),
        "previous": _text(tile, tile.previous),
        "change": _change(tile),
        "url": tile.url,
    }


def _dashboard(*, actor: Actor, period: Period) -> dict[str, Any]:
    metrics = overview_metrics(period.end, period.currency)
    windows = []
    for window, section in zip(metrics["windows"], sections(metrics), strict=True):
        current, previous = window["period"], window["previous_period"]
        windows.append(
            {
                "window": window["window"],
                "title": section.title,
                "from": current.start,
                "to": current.end,
                "previous_from": previous.start,
                "previous_to": previous.end,
                "tiles": [tile_json(t) for t in section.tiles],
            }
        )
    return {
        "object": "dashboard_metrics",
        "as_of": metrics["as_of"],
        "to": period.end,
        "currency": period.currency,
        "windows": windows,
    }


def _payments(*, actor: Actor, period: Period) -> dict[str, Any]:
    return {
        "object": "payment_metrics",
        "from": period.start,
        "to": period.end,
        "currency": period.currency,
        **{k: v for k, v in payment_metrics(period).items() if k != "period"},
    }


register(
    Operation(
        name="get_dashboard_metrics",
        title="Dashboard overview metrics",
        description=(
            "The admin home's tiles for three windows ending on `to` (YYYY-MM-DD, UTC, default today): today, the last "
            "7 and the last 30 days, each against the window of the same length just before it. Per window, tiles with "
            "stable keys: gross_<window>_<currency> (captured amount of succeeded payments), success_rate_<window> "
            "(succeeded / (succeeded + failed) of the payments created in the window), failed_<window>, "
            "refunds_<window> (succeeded refunds) and refunded_<window>_<currency>, new_customers_<window>, "
            "active_subscriptions_<window> and mrr_<window>_<currency> (now, against the window's start); in today's "
            "window also review_queue (payments awaiting fraud review), open_alerts (open or acknowledged) and "
            "health_score (the latest recorded health check, 0-100). Each tile: value and previous (money as decimal "
            "strings with `currency`, rates as decimal fractions), change (rates: difference; others: relative, as a "
            "fraction) and the admin URL it links to. `currency` keeps one currency. Read-only. Errors: "
            "invalid_period, unsupported_currency, validation_error."
        ),
        handler=_dashboard,
        scope="analytics:read",
        permission="payments.view_payment",
        input=DashboardInput,
        output=DashboardMetricsSerializer,
        tags=ANALYTICS,
    )
)
register(
    Operation(
        name="get_payment_metrics",
        title="Payment metrics",
        description=(
            "The payments dashboard's numbers over UTC days from/to (YYYY-MM-DD, to inclusive, default the last 30 "
            "days), optionally one currency: totals (succeeded, failed, success rate = succeeded / (succeeded + "
            "failed) of the payments created in the period, and the previous period's), the success rate by day, "
            "decline reasons (failed payments per failure_code with their share), providers (PaymentAttempts created "
            "in the period: attempts, successes = authorised or captured, declined, unreachable, success rate and "
            "routing share), authorisation latency per provider (p50 and p95 of latency_ms, ms) and refund rates per "
            "currency (refunded / captured amount and refunded / captured payments, over the period's payments that "
            "captured money). Money as decimal strings, rates as decimal fractions. Read-only. Errors: "
            "invalid_period, unsupported_currency, validation_error."
        ),
        handler=_payments,
        scope="analytics:read",
        permission="payments.view_payment",
        input=PaymentMetricsInput,
        output=PaymentMetricsSerializer,
        tags=ANALYTICS,
    )
)
