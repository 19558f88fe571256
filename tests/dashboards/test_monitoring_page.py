"""The Monitoring and compliance page: health, alerts, latency per route and tool, error groups, the audit chain,
the PCI self-assessment and compliance exports, each from rows the test stores."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.models import AuditChainCheck, ComplianceExport, PciAssessment
from monitoring import latency
from monitoring.analytics import monitoring as m
from monitoring.dashboards import registry
from monitoring.dashboards.period import Period
from monitoring.models import Alert, ErrorGroup, ErrorOccurrence, HealthCheck, RequestMetricMinute

pytestmark = pytest.mark.django_db

D1 = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
D2 = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)
PERIOD = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
QUERY = "from=2026-11-01&to=2026-11-30"
CHARTS = [
    "health_components",
    "health_score_by_day",
    "open_alerts_by_severity",
    "alerts_raised_by_day",
    "latency_by_route",
    "latency_by_tool",
    "error_groups",
    "pci_failed_checks",
    "compliance_exports",
]


def _health(at, score, state="ok", components=()):
    return HealthCheck.objects.create(
        checked_at=at,
        score=score,
        state=state,
        formula="weighted",
        components=list(components),
        duration_ms=3.0,
        source="tests",
    )


def _alert(severity, status, first_seen, key):
    return Alert.objects.create(
        severity=severity,
        source="manual",
        title=key,
        dedup_key=key,
        status=status,
        reason="r",
        first_seen=first_seen,
        last_seen=first_seen,
        created=first_seen,
        updated=first_seen,
    )


def _minute(kind, name, at, durations, process="p1", errors=0):
    return RequestMetricMinute.objects.create(
        minute=at,
        kind=kind,
        name=name,
        process=process,
        count=len(durations),
        errors=errors,
        client_errors=0,
        total_ms=sum(durations),
        max_ms=max(durations),
        histogram=latency.histogram_of(durations),
    )


@pytest.fixture
def data():
    _health(D1, 80, "degraded")
    _health(D1 + dt.timedelta(hours=1), 91)
    latest = _health(
        D2,
        100,
        components=[
            {"name": "database", "state": "ok", "weight": 40, "message": "fine"},
            {"name": "worker", "state": "degraded", "weight": 10, "message": "slow"},
        ],
    )
    _health(dt.datetime(2026, 10, 30, tzinfo=dt.UTC), 10, "down")  # before the period
    _alert("high", "open", D1, "a1")
    _alert("high", "acknowledged", D2, "a2")
    _alert("critical", "open", D2, "a3")
    _alert("low", "resolved", D2, "a4")
    _minute("rest", "GET /api/v1/payments", D1, [10.0, 10.0, 20.0])
    _minute("rest", "GET /api/v1/payments", D1, [40.0], process="p2", errors=1)
    _minute("rest", "POST /api/v1/transfers", D2, [5.0])
    _minute("mcp", "get_payment_status", D2, [7.0, 9.0])
    group = ErrorGroup.objects.create(
        fingerprint="f" * 64,
        grouping="g",
        kind="exception",
        level="error",
        title="ZeroDivisionError",
        count=3,
        first_seen=D1,
        last_seen=D2,
    )
    other = ErrorGroup.objects.create(
        fingerprint="e" * 64,
        grouping="g",
        kind="exception",
        level="warning",
        title="KeyError",
        count=1,
        first_seen=D1,
        last_seen=D1,
    )
    for at in (D1, D2, D2):
        ErrorOccurrence.objects.create(group=group, occurred_at=at, level="error")
    ErrorOccurrence.objects.create(group=other, occurred_at=D1, level="warning")
    ErrorOccurrence.objects.create(group=other, occurred_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), level="warning")
    AuditChainCheck.objects.create(
        started_at=D1, finished_at=D1, intact=False, count=10, reason="altered", first_broken_event_id="aud_x"
    )
    chain = AuditChainCheck.objects.create(started_at=D2, finished_at=D2, intact=True, count=1234)
    pci = PciAssessment.objects.create(
        score=90,
        passed=9,
        failed=1,
        not_applicable=2,
        created=D2,
        checks=[
            {"id": "tls", "requirement": "4.2.1", "title": "TLS everywhere", "status": "passed", "evidence": "ok"},
            {"id": "mfa", "requirement": "8.4.2", "title": "MFA for admin", "status": "failed", "evidence": "no"},
        ],
    )
    export = ComplianceExport.objects.create(
        kind="payments",
        format="csv",
        period_from=dt.date(2026, 10, 1),
        period_to=dt.date(2026, 10, 31),
        status="succeeded",
        rows_written=42,
        created=D2,
        actor_label="ops@example.com",
    )
    ComplianceExport.objects.create(
        kind="refunds",
        format="csv",
        period_from=dt.date(2026, 9, 1),
        period_to=dt.date(2026, 9, 30),
        created=dt.datetime(2026, 10, 2, tzinfo=dt.UTC),
    )
    return {"latest": latest, "group": group, "chain": chain, "pci": pci, "export": export}


def test_selectors_compute_exact_values(data):
    assert m.health_latest()["score"] == 100
    assert [(c["name"], c["state"]) for c in m.health_latest()["components"]] == [
        ("database", "ok"),
        ("worker", "degraded"),
    ]
    history = m.health_history(PERIOD)
    assert [(r["day"], r["checks"], r["lowest_score"], str(r["mean_score"])) for r in history] == [
        ("2026-11-02", 2, 80, "85.5"),
        ("2026-11-03", 1, 100, "100.0"),
    ]
    assert m.alerts_open_by_severity() == [
        {"severity": "critical", "open": 1, "acknowledged": 0},
        {"severity": "high", "open": 1, "acknowledged": 1},
    ]
    assert m.alerts_raised_by_day(PERIOD) == [
        {"day": "2026-11-02", "severity": "high", "raised": 1},
        {"day": "2026-11-03", "severity": "critical", "raised": 1},
        {"day": "2026-11-03", "severity": "high", "raised": 1},
        {"day": "2026-11-03", "severity": "low", "raised": 1},
    ]
    routes = m.latency_by_route(PERIOD, "rest")
    merged = latency.histogram_of([10.0, 10.0, 20.0, 40.0])
    assert routes[0] == {
        "name": "GET /api/v1/payments",
        "requests": 4,
        "errors": 1,
        "error_rate": 0.25,
        "p50_ms": latency.percentile(merged, 0.5, max_ms=40.0),
        "p95_ms": latency.percentile(merged, 0.95, max_ms=40.0),
        "p99_ms": latency.percentile(merged, 0.99, max_ms=40.0),
    }
    assert 8.0 < routes[0]["p50_ms"] <= 12.0 and 33.0 < routes[0]["p95_ms"] <= 40.0
    assert [r["name"] for r in routes] == ["GET /api/v1/payments", "POST /api/v1/transfers"]
    assert [(r["name"], r["requests"]) for r in m.latency_by_route(PERIOD, "mcp")] == [("get_payment_status", 2)]
    groups = m.error_groups_top(PERIOD)
    assert [(g["title"], g["occurrences"], g["last_seen"]) for g in groups] == [
        ("ZeroDivisionError", 3, D2),
        ("KeyError", 1, D1),
    ]
    chain = m.audit_chain_latest()
    assert chain["intact"] is True and chain["count"] == 1234 and chain["id"] == data["chain"].pk
    pci = m.pci_latest()
    assert (pci["score"], pci["failed"], pci["failed_checks"]) == (
        90,
        1,
        [{"id": "mfa", "requirement": "8.4.2", "title": "MFA for admin"}],
    )
    exports = m.exports_in_period(PERIOD)
    assert [(e["id"], e["kind"], e["rows"], e["period"]) for e in exports] == [
        (data["export"].pk, "payments", 42, "2026-10-01 to 2026-10-31")
    ]


def test_page_renders_tiles_charts_and_csv_in_bounded_queries(data, staff_client):
    client = staff_client("admin")
    page = registry.get("monitoring").build(PERIOD)
    assert [c.name for c in page.charts] == CHARTS
    tiles = {t.key: t.text for t in page.sections[0].tiles}
    assert tiles == {"health_score": "100", "open_alerts": "3", "audit_chain": "intact", "pci_score": "90"}
    response = client.get(f"/admin/dashboards/monitoring/?{QUERY}")
    assert response.status_code == 200
    # The open-alerts tile opens the list of the alerts it counts (open and acknowledged).
    alerts_tile = next(t for t in page.sections[0].tiles if t.key == "open_alerts")
    assert client.get(alerts_tile.url).context["cl"].result_count == 3
    # The same number of queries with more of everything: no query per group, alert or route.
    with CaptureQueriesContext(connection) as built:
        registry.get("monitoring").build(PERIOD)
    for i in range(3):
        _alert("high", "open", D2, f"more{i}")
        ErrorGroup.objects.create(fingerprint=f"{i}" * 64, grouping="g", kind="exception", level="error",
                                  title=f"E{i}", count=1, first_seen=D1, last_seen=D2)
        _minute("rest", f"GET /api/v1/more{i}", D2, [3.0])
    with CaptureQueriesContext(connection) as more:
        registry.get("monitoring").build(PERIOD)
    assert len(more) == len(built), [q["sql"] for q in more.captured_queries]
    body = response.content.decode()
    payload = json.loads(
        body.split('id="chart-alerts_raised_by_day-data" type="application/json">')[1].split("</script>")[0]
    )
    assert payload["labels"] == ["2026-11-02", "2026-11-03"]
    assert f"/admin/monitoring/errorgroup/{data['group'].pk.replace('_', '_5F')}/change/" in body
    # "Last seen" reads as every dashboard moment does (UTC, to the minute), not as an ISO timestamp
    table = body.split('data-chart="error_groups"')[1].split("</figure>")[0]
    assert "2026-11-03 09:00" in table and "2026-11-02 10:00" in table and "+00:00" not in table
    download = client.get(f"/admin/dashboards/monitoring/?{QUERY}&format=csv&chart=error_groups")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows == [
        ["title", "level", "occurrences", "last_seen", "resolved"],
        ["ZeroDivisionError", "error", "3", "2026-11-03T09:00:00Z", "no"],
        ["KeyError", "warning", "1", "2026-11-02T10:00:00Z", "no"],
    ]


def test_empty_data_gives_every_chart_empty(staff_client):
    page = registry.get("monitoring").build(PERIOD)
    assert [c.name for c in page.charts] == CHARTS and all(c.empty for c in page.charts)
    assert {t.key: t.text for t in page.sections[0].tiles} == {
        "health_score": "-",
        "open_alerts": "0",
        "audit_chain": "-",
        "pci_score": "-",
    }
    assert staff_client("admin").get(f"/admin/dashboards/monitoring/?{QUERY}").status_code == 200


def test_page_needs_the_monitoring_permission(staff_client):
    assert staff_client("support").get("/admin/dashboards/monitoring/").status_code == 403
    assert staff_client("operator").get("/admin/dashboards/monitoring/").status_code == 200
