"""Monitoring and compliance numbers: health, alerts, latency per route and tool, error groups, the audit
chain, the PCI self-assessment and compliance exports. Each reads stored rows (rollups for latency) over a
dashboard period; none runs a check itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate

from compliance.models import AuditChainCheck, ComplianceExport, PciAssessment
from monitoring.dashboards.charts import admin_url
from monitoring.dashboards.period import Period
from monitoring.models import Alert, ErrorOccurrence, HealthCheck
from monitoring.models.alerts import SEVERITY_ORDER
from monitoring.selectors import route_window

TOP = 20


def health_latest() -> dict[str, Any] | None:
    """The last recorded health check: its score, state and each component's state."""
    check = HealthCheck.objects.order_by("-checked_at").first()
    if check is None:
        return None
    components = [
        {
            "name": str(c.get("name", "")),
            "state": str(c.get("state", "")),
            "weight": c.get("weight"),
            "message": str(c.get("message", "")),
        }
        for c in (check.components or [])
    ]
    return {
        "id": check.pk,
        "url": admin_url("monitoring.healthcheck", check.pk),
        "score": check.score,
        "state": check.state,
        "checked_at": check.checked_at,
        "components": components,
    }


def health_history(period: Period) -> list[dict[str, Any]]:
    """Per day of the period with recorded checks: how many, the lowest and the mean score."""
    rows = (
        HealthCheck.objects.filter(checked_at__gte=period.since, checked_at__lt=period.until)
        .annotate(day=TruncDate("checked_at"))
        .values("day")
        .annotate(checks=Count("id"), lowest=Min("score"), total=Sum("score"))
        .order_by("day")
    )
    return [
        {
            "day": r["day"].isoformat(),
            "checks": r["checks"],
            "lowest_score": r["lowest"],
            "mean_score": (Decimal(r["total"]) / r["checks"]).quantize(Decimal("0.1")),
        }
        for r in rows
    ]


def alerts_open_by_severity() -> list[dict[str, Any]]:
    """Alerts not resolved now (open or acknowledged), per severity, most severe first."""
    rows = (
        Alert.objects.exclude(status=Alert.Status.RESOLVED)
        .values("severity")
        .annotate(
            open=Count("id", filter=Q(status=Alert.Status.OPEN)),
            acknowledged=Count("id", filter=Q(status=Alert.Status.ACKNOWLEDGED)),
        )
    )
    found = {r["severity"]: r for r in rows}
    order = list(reversed(SEVERITY_ORDER))
    return [
        {"severity": s, "open": found[s]["open"], "acknowledged": found[s]["acknowledged"]} for s in order if s in found
    ]


def alerts_raised_by_day(period: Period) -> list[dict[str, Any]]:
    rows = (
        Alert.objects.filter(first_seen__gte=period.since, first_seen__lt=period.until)
        .annotate(day=TruncDate("first_seen"))
        .values("day", "severity")
        .annotate(raised=Count("id"))
        .order_by("day", "severity")
    )
    return [{"day": r["day"].isoformat(), "severity": r["severity"], "raised": r["raised"]} for r in rows]


def latency_by_route(period: Period, kind: str) -> list[dict[str, Any]]:
    """p50/p95/p99 per REST route (kind "rest") or MCP tool ("mcp") from the minutely rollups, busiest first."""
    return [
        {
            "name": w.name,
            "requests": w.count,
            "errors": w.summary.errors,
            "error_rate": round(w.error_rate, 6),
            "p50_ms": w.p50_ms,
            "p95_ms": w.p95_ms,
            "p99_ms": w.p99_ms,
        }
        for w in route_window(since=period.since, until=period.until, kind=kind)[:TOP]
    ]


def error_groups_top(period: Period) -> list[dict[str, Any]]:
    """The error groups with the most occurrences in the period."""
    rows = (
        ErrorOccurrence.objects.filter(occurred_at__gte=period.since, occurred_at__lt=period.until)
        .values("group_id", "group__title", "group__level", "group__resolved")
        .annotate(occurrences=Count("id"), last=Max("occurred_at"))
        .order_by("-occurrences", "group_id")[:TOP]
    )
    return [
        {
            "id": r["group_id"],
            "url": admin_url("monitoring.errorgroup", r["group_id"]),
            "title": r["group__title"],
            "level": r["group__level"],
            "resolved": "yes" if r["group__resolved"] else "no",
            "occurrences": r["occurrences"],
            "last_seen": r["last"],
        }
        for r in rows
    ]


def audit_chain_latest() -> dict[str, Any] | None:
    check = AuditChainCheck.objects.order_by("-started_at").first()
    if check is None:
        return None
    return {
        "id": check.pk,
        "url": admin_url("compliance.auditchaincheck", check.pk),
        "intact": check.intact,
        "count": check.count,
        "started_at": check.started_at,
        "reason": check.reason or "",
        "first_broken_event_id": check.first_broken_event_id or "",
    }


def pci_latest() -> dict[str, Any] | None:
    assessment = PciAssessment.objects.order_by("-created", "-id").first()
    if assessment is None:
        return None
    failed = [
        {"id": str(c.get("id", "")), "requirement": str(c.get("requirement", "")), "title": str(c.get("title", ""))}
        for c in (assessment.checks or [])
        if c.get("status") == "failed"
    ]
    return {
        "id": assessment.pk,
        "url": admin_url("compliance.pciassessment", assessment.pk),
        "score": assessment.score,
        "passed": assessment.passed,
        "failed": assessment.failed,
        "created": assessment.created,
        "failed_checks": failed,
    }


def exports_in_period(period: Period) -> list[dict[str, Any]]:
    rows = ComplianceExport.objects.filter(created__gte=period.since, created__lt=period.until).order_by(
        "-created", "-id"
    )[:50]
    return [
        {
            "id": e.pk,
            "url": admin_url("compliance.complianceexport", e.pk),
            "kind": e.kind,
            "format": e.format,
            "status": e.status,
            "period": f"{e.period_from.isoformat()} to {e.period_to.isoformat()}",
            "rows": e.rows_written,
            "created": e.created,
            "by": e.actor_label,
        }
        for e in rows
    ]
