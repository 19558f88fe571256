"""`analyze_user_behavior`: the customers page's numbers for agents and REST (all customers, or one)."""

from __future__ import annotations

from typing import Any

from core.context import Actor
from core.operations import Operation, register

from .analytics import customers
from .dashboards.period import Period
from .serializers_analytics_customers import (
    BehaviorInput,
    BehaviorSerializer,
    CustomerIdBehaviorInput,
    period_fields,
)

_DESCRIPTION = (
    "Customer behaviour over a period of UTC days (from/to as YYYY-MM-DD, to inclusive, default the last 30 days; "
    "currency optional), counting succeeded payments created in the period. Without customer_id: `population` "
    "(paying, repeat and new customers, repeat rate, RFM segment counts and shares, spending distribution per "
    "currency: total, average, median and largest per customer). With customer_id: `customer` (its RFM segment and "
    "1-5 scores among the period's paying customers, spending per currency with total/average/median per payment "
    "and refund ratio, preferred methods, hour and weekday histograms, failure and refund ratios, first and last "
    "payment, days active, and totals against the previous period). RFM: recency (days since the last payment), "
    "frequency (payments) and monetary (captured, per currency) scored by quintile; segments champions, loyal, "
    "potential_loyalists, new, promising, need_attention, cannot_lose, at_risk, hibernating, lost. Amounts are "
    "decimal strings in their currency; ratios decimal fractions. Read-only. Errors: not_found (unknown customer), "
    "invalid_period, unsupported_currency, validation_error."
)


def _analyze(*, actor: Actor, period: Period, customer_id: str | None = None) -> dict[str, Any]:
    if customer_id is None:
        return {**period_fields(period), "population": customers.all_customers_behavior(period), "customer": None}
    return {**period_fields(period), "population": None, "customer": customers.customer_behavior(period, customer_id)}


register(
    Operation(
        name="analyze_user_behavior",
        title="Analyze customer behaviour",
        description=_DESCRIPTION,
        handler=_analyze,
        scope="analytics:read",
        permission="accounts.view_customer",
        input=BehaviorInput,
        output=BehaviorSerializer,
        tags=("analytics",),
    )
)
# The REST path /analytics/customers/{customer_id}: the same handler; a second name because an OpenAPI
# operation id names one path. Agents have analyze_user_behavior with customer_id.
register(
    Operation(
        name="analyze_customer_behavior",
        title="Analyze one customer's behaviour",
        description=_DESCRIPTION,
        handler=_analyze,
        scope="analytics:read",
        permission="accounts.view_customer",
        input=CustomerIdBehaviorInput,
        output=BehaviorSerializer,
        tags=("analytics",),
        doors=frozenset({"rest"}),
    )
)
