"""Monitoring and compliance: health, alerts, latency per route and tool, error groups, the audit chain, the PCI
self-assessment and compliance exports. The numbers are monitoring.analytics.monitoring's."""

from __future__ import annotations

from monitoring.analytics import monitoring as m

from .charts import Chart, Column, Page, Section, Tile, changelist_url
from .period import Period
from .registry import register_page

_LATENCY_COLUMNS = [
    Column("name", "Name"),
    Column("requests", "Requests", "int"),
    Column("errors", "Errors", "int"),
    Column("error_rate", "Error rate", "rate"),
    Column("p50_ms", "p50", "ms"),
    Column("p95_ms", "p95", "ms"),
    Column("p99_ms", "p99", "ms"),
]


def _tiles(health, chain, pci, open_alerts) -> list[Tile]:
    tiles = [
        Tile(
            "health_score",
            "Health score",
            health["score"] if health else None,
            "int",
            url=health["url"] if health else None,
            detail=f"{health['state']} at {health['checked_at']:%Y-%m-%d %H:%M} UTC"
            if health
            else "No health check recorded yet.",
        ),
        Tile(
            "open_alerts",
            "Open alerts",
            sum(r["open"] + r["acknowledged"] for r in open_alerts),
            "int",
            url=changelist_url("monitoring.alert", status__in="open,acknowledged"),
            lower_is_better=True,
            detail=", ".join(f"{r['severity']}: {r['open'] + r['acknowledged']}" for r in open_alerts),
        ),
        Tile(
            "audit_chain",
            "Audit chain",
            ("intact" if chain["intact"] else "BROKEN") if chain else None,
            "text",
            url=chain["url"] if chain else None,
            detail=f"{chain['count']:,} events checked at {chain['started_at']:%Y-%m-%d %H:%M} UTC"
            if chain
            else "The chain has not been checked yet.",
        ),
        Tile(
            "pci_score",
            "PCI self-check",
            pci["score"] if pci else None,
            "int",
            url=pci["url"] if pci else None,
            detail=f"{pci['failed']} failed, {pci['passed']} passed" if pci else "No self-assessment stored yet.",
        ),
    ]
    return tiles


@register_page(
    "monitoring",
    "Monitoring and compliance",
    permission="monitoring.view_healthcheck",
    description="Health, alerts, latency per route and tool, error groups, audit chain, PCI, exports.",
)
def build(period: Period) -> Page:
    health = m.health_latest()
    chain = m.audit_chain_latest()
    pci = m.pci_latest()
    open_alerts = m.alerts_open_by_severity()
    components = health["components"] if health else []
    failed_checks = pci["failed_checks"] if pci else []
    return Page(
        "Monitoring and compliance",
        sections=[Section("Now", _tiles(health, chain, pci, open_alerts))],
        charts=[
            Chart(
                "health_components",
                "Health components (latest check)",
                "table",
                [Column("name", "Component"), Column("state", "State"), Column("message", "Message")],
                components,
                empty_text="No health check recorded yet.",
            ),
            Chart(
                "health_score_by_day",
                "Health score by day",
                "line",
                [
                    Column("day", "Day", "date"),
                    Column("checks", "Checks", "int"),
                    Column("lowest_score", "Lowest", "int"),
                    Column("mean_score", "Mean", "decimal"),
                ],
                m.health_history(period),
                x="day",
                series=["mean_score", "lowest_score"],
            ),
            Chart(
                "open_alerts_by_severity",
                "Open alerts by severity (now)",
                "bar",
                [
                    Column("severity", "Severity"),
                    Column("open", "Open", "int"),
                    Column("acknowledged", "Acknowledged", "int"),
                ],
                open_alerts,
                x="severity",
                series=["open", "acknowledged"],
                empty_text="No open alerts.",
            ),
            Chart(
                "alerts_raised_by_day",
                "Alerts raised by day",
                "bar",
                [Column("day", "Day", "date"), Column("severity", "Severity"), Column("raised", "Raised", "int")],
                m.alerts_raised_by_day(period),
                x="day",
                series=["raised"],
                group="severity",
            ),
            Chart(
                "latency_by_route",
                "Latency per REST route (busiest 20)",
                "table",
                _LATENCY_COLUMNS,
                m.latency_by_route(period, "rest"),
            ),
            Chart(
                "latency_by_tool",
                "Latency per MCP tool (busiest 20)",
                "table",
                _LATENCY_COLUMNS,
                m.latency_by_route(period, "mcp"),
            ),
            Chart(
                "error_groups",
                "Top error groups",
                "table",
                [
                    Column("title", "Error", link_key="url"),
                    Column("level", "Level"),
                    Column("occurrences", "Occurrences", "int"),
                    Column("last_seen", "Last seen", "date"),
                    Column("resolved", "Resolved"),
                ],
                m.error_groups_top(period),
                empty_text="No errors in this period.",
            ),
            Chart(
                "pci_failed_checks",
                "PCI self-check: failed checks (latest assessment)",
                "table",
                [Column("id", "Check"), Column("requirement", "Requirement"), Column("title", "Title")],
                failed_checks,
                empty_text="No failed checks." if pci else "No self-assessment stored yet.",
            ),
            Chart(
                "compliance_exports",
                "Compliance reports and exports",
                "table",
                [
                    Column("id", "Export", link_key="url"),
                    Column("kind", "Kind"),
                    Column("format", "Format"),
                    Column("status", "Status"),
                    Column("period", "Covers"),
                    Column("rows", "Rows", "int"),
                    Column("created", "Created", "date"),
                    Column("by", "By"),
                ],
                m.exports_in_period(period),
                empty_text="No exports in this period.",
            ),
        ],
    )
