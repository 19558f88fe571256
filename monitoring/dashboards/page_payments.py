"""Payments: success rate over time, decline reasons, provider performance and routing share, authorisation
latency, refund rate. The numbers are `monitoring.analytics.payments`'s (shared with `get_payment_metrics`)."""

from __future__ import annotations

from ..analytics.payments import UNSPECIFIED, payment_metrics
from .charts import Chart, Column, Page, Section, Tile, changelist_url
from .period import Period
from .registry import register_page


def _failed_url(period: Period, code: str | None = None) -> str:
    filters = {"status__exact": "failed", **period.admin_filters()}
    if code is not None:
        filters["failure_code__exact"] = "" if code == UNSPECIFIED else code
    return changelist_url("payments.payment", **filters)


@register_page(
    "payments",
    "Payments",
    permission="payments.view_payment",
    description="Success rate by day, decline reasons, providers (performance, routing share, "
    "authorisation latency) and refund rates over the period.",
)
def build(period: Period) -> Page:
    m = payment_metrics(period)
    totals = m["totals"]
    attempts = sum(r["attempts"] for r in m["providers"])
    tiles = [
        Tile(
            "success_rate",
            "Success rate",
            totals["rate"],
            "rate",
            previous=totals["previous_rate"],
            detail=f"{totals['succeeded']:,} succeeded, {totals['failed']:,} failed",
        ),
        Tile("succeeded", "Succeeded payments", totals["succeeded"], previous=totals["previous_succeeded"]),
        Tile(
            "failed",
            "Failed payments",
            totals["failed"],
            previous=totals["previous_failed"],
            lower_is_better=True,
            url=_failed_url(period),
        ),
        Tile("attempts", "Provider attempts", attempts, detail=f"{len(m['providers'])} providers"),
    ]
    tiles += [
        Tile(
            f"refund_rate_{r['currency'].lower()}",
            f"Refund rate {r['currency']}",
            r["amount_rate"],
            "rate",
            lower_is_better=True,
            detail="Refunded / captured amount",
        )
        for r in m["refunds"]
    ]
    declines = [{**r, "url": _failed_url(period, r["code"])} for r in m["decline_reasons"]]
    return Page(
        "Payments",
        sections=[Section("In this period", tiles)],
        charts=[
            Chart(
                "success_rate_by_day",
                "Success rate by day",
                "line",
                [
                    Column("day", "Day", "date"),
                    Column("succeeded", "Succeeded", "int"),
                    Column("failed", "Failed", "int"),
                    Column("success_rate", "Success rate", "rate"),
                ],
                m["by_day"],
                x="day",
                series=["success_rate"],
                description="Succeeded / (succeeded + failed) of the payments created each day.",
            ),
            Chart(
                "decline_reasons",
                "Decline reasons",
                "bar",
                [
                    Column("code", "Failure code", link_key="url"),
                    Column("payments", "Failed payments", "int"),
                    Column("share", "Share", "rate"),
                ],
                declines,
                x="code",
                series=["payments"],
                empty_text="No failed payments in this period.",
            ),
            Chart(
                "provider_performance",
                "Provider performance",
                "bar",
                [
                    Column("provider", "Provider"),
                    Column("attempts", "Attempts", "int"),
                    Column("successes", "Authorised", "int"),
                    Column("declined", "Declined", "int"),
                    Column("unreachable", "Unreachable", "int"),
                    Column("success_rate", "Success rate", "rate"),
                ],
                m["providers"],
                x="provider",
                series=["success_rate"],
                description="Every provider attempt (retries and fallbacks included); authorised or captured count "
                "as successes.",
            ),
            Chart(
                "routing_share",
                "Routing share",
                "doughnut",
                [
                    Column("provider", "Provider"),
                    Column("attempts", "Attempts", "int"),
                    Column("share", "Share", "rate"),
                ],
                m["providers"],
                x="provider",
                series=["share"],
                empty_text="No provider attempts in this period.",
            ),
            Chart(
                "authorisation_latency",
                "Authorisation latency",
                "bar",
                [
                    Column("provider", "Provider"),
                    Column("attempts", "Timed attempts", "int"),
                    Column("p50_ms", "p50", "ms"),
                    Column("p95_ms", "p95", "ms"),
                ],
                m["latency"],
                x="provider",
                series=["p50_ms", "p95_ms"],
                description="Percentiles of the provider's answer time per attempt (percentile_cont).",
            ),
            Chart(
                "refund_rate",
                "Refund rate by currency",
                "bar",
                [
                    Column("currency", "Currency"),
                    Column("payments", "Captured payments", "int"),
                    Column("refunded_payments", "Refunded payments", "int"),
                    Column("captured", "Captured", "money"),
                    Column("refunded", "Refunded", "money"),
                    Column("amount_rate", "Refunded / captured", "rate"),
                    Column("count_rate", "Refunded / captured payments", "rate"),
                ],
                m["refunds"],
                x="currency",
                series=["amount_rate", "count_rate"],
                description="Over the payments created in the period that captured money.",
            ),
        ],
    )
