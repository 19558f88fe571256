"""generate_revenue_analytics: the Revenue page's numbers and stored forecasts, for REST and MCP."""

from __future__ import annotations

from typing import Any

from core.context import Actor
from core.operations import Operation, register

from .analytics.revenue import revenue_analytics
from .dashboards.period import Period
from .serializers_analytics_revenue import RevenueAnalyticsInput, RevenueAnalyticsSerializer


def _revenue(*, actor: Actor, period: Period, interval: str = "day") -> dict[str, Any]:
    return revenue_analytics(period, interval)


register(Operation(
    name="generate_revenue_analytics", title="Revenue analytics and forecast",
    description=("Revenue over [from, to] (UTC days, to inclusive; default the last 30 days), optionally one "
                 "currency: per-currency totals and by_interval (day, week or month buckets), by_method and "
                 "by_provider rows of gross (captured amounts by capture day), fees (their provider fees), refunds "
                 "(succeeded refunds by the day they were made), fees_returned and net = gross - fees - refunds + "
                 "fees_returned, as decimal strings. forecasts: the newest stored 30-day daily gross forecast per "
                 "currency (computed daily by a job, never on request) with its 80 % band, its backtested MAPE on "
                 "rolling origins and the weekly seasonal-naive baseline's MAPE (fractions as decimal strings); "
                 "currencies_without_forecast lists those with revenue but none stored (less than 14 days of "
                 "history). Read-only. Errors: invalid_period, unsupported_currency, validation_error."),
    handler=_revenue, scope="analytics:read", permission="payments.view_payment",
    input=RevenueAnalyticsInput, output=RevenueAnalyticsSerializer, tags=("analytics",),
))
