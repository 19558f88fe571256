"""The overview on the admin home: today, the last 7 and the last 30 days (ending on the period's last day), each
tile against the window of the same length before it and linking to its page or changelist. The numbers are
`monitoring.analytics.overview`'s; `get_dashboard_metrics` serves these same tiles as JSON."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from ..analytics.overview import overview_metrics
from .charts import Page, Section, Tile, changelist_url
from .period import Period
from .registry import register_page


def _page(name: str, period: Period) -> str:
    return f"{reverse('admin:dashboard', args=[name])}?{period.query()}"


def _window_tiles(w: dict[str, Any]) -> list[Tile]:
    key, period = w["window"], w["period"]
    tiles = [
        Tile(
            f"gross_{key}_{r['currency'].lower()}",
            f"Gross volume {r['currency']}",
            r["value"],
            "money",
            r["currency"],
            previous=r["previous"],
            url=_page("revenue", period),
            detail="Captured amount of succeeded payments",
        )
        for r in w["gross"]
    ]
    rate, previous_rate = w["success_rate"]
    (ok, _), (failed, failed_before) = w["succeeded"], w["failed"]
    tiles += [
        Tile(
            f"success_rate_{key}",
            "Success rate",
            rate,
            "rate",
            previous=previous_rate,
            url=_page("payments", period),
            detail=f"{ok:,} succeeded, {failed:,} failed",
        ),
        Tile(
            f"failed_{key}",
            "Failed payments",
            failed,
            previous=failed_before,
            lower_is_better=True,
            url=changelist_url("payments.payment", status__exact="failed", **period.admin_filters()),
        ),
    ]
    refunds, refunds_before = w["refunds"]
    tiles.append(
        Tile(
            f"refunds_{key}",
            "Refunds",
            refunds,
            previous=refunds_before,
            lower_is_better=True,
            url=changelist_url("payments.refund", status__exact="succeeded", **period.admin_filters()),
        )
    )
    tiles += [
        Tile(
            f"refunded_{key}_{r['currency'].lower()}",
            f"Refunded {r['currency']}",
            r["value"],
            "money",
            r["currency"],
            previous=r["previous"],
            lower_is_better=True,
            url=_page("payments", period),
        )
        for r in w["refunded"]
    ]
    new, new_before = w["new_customers"]
    active, active_before = w["active_subscriptions"]
    tiles += [
        Tile(f"new_customers_{key}", "New customers", new, previous=new_before, url=_page("customers", period)),
        Tile(
            f"active_subscriptions_{key}",
            "Active subscriptions",
            active,
            previous=active_before,
            url=_page("subscriptions", period),
            detail="Now, against the window's start",
        ),
    ]
    tiles += [
        Tile(
            f"mrr_{key}_{r['currency'].lower()}",
            f"MRR {r['currency']}",
            r["value"],
            "money",
            r["currency"],
            previous=r["previous"],
            url=_page("subscriptions", period),
            detail="Now, against the window's start",
        )
        for r in w["mrr"]
    ]
    return tiles


def _now_tiles(metrics: dict[str, Any]) -> list[Tile]:
    today = metrics["windows"][0]
    alerts, alerts_before = today["open_alerts"]
    health = metrics["health"]
    review = {"review_status__exact": "pending", "status__exact": "requires_capture"}
    if metrics["currency"]:
        review["currency__exact"] = metrics["currency"]
    tiles = [
        Tile(
            "review_queue",
            "Review queue",
            metrics["review_queue"],
            lower_is_better=True,
            url=changelist_url("payments.payment", **review),
            detail="Payments awaiting fraud review",
        ),
        Tile(
            "open_alerts",
            "Open alerts",
            alerts,
            previous=alerts_before,
            lower_is_better=True,
            url=changelist_url("monitoring.alert", status__in="open,acknowledged"),
            detail="Open or acknowledged, against the start of the day",
        ),
    ]
    if health:
        tiles.append(
            Tile(
                "health_score",
                "System health",
                health["score"],
                url=changelist_url("monitoring.healthcheck"),
                detail=f"{health['state']} at {health['checked_at']:%Y-%m-%d %H:%M} UTC",
            )
        )
    else:
        tiles.append(
            Tile(
                "health_score",
                "System health",
                None,
                url=changelist_url("monitoring.healthcheck"),
                detail="No health check recorded yet",
            )
        )
    return tiles


def sections(metrics: dict[str, Any]) -> list[Section]:
    """One section per window of `overview_metrics`; the states now (review queue, alerts, health) in the first."""
    out = []
    for i, w in enumerate(metrics["windows"]):
        tiles = _window_tiles(w)
        if i == 0:
            tiles += _now_tiles(metrics)
        out.append(Section(w["title"], tiles))
    return out


@register_page(
    "overview",
    "Overview",
    permission="payments.view_payment",  # as get_dashboard_metrics: the tiles are the business's volume
    description="The admin home: today, 7 and 30 days of volume, success, refunds, customers, "
    "subscriptions, and the review queue, alerts and health now.",
)
def build(period: Period) -> Page:
    return Page("Overview", sections=sections(overview_metrics(period.end, period.currency)))
