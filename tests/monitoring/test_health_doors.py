"""The health part at every door: REST `GET /api/v1/system/health` and `/system/status`, MCP
`perform_health_check` and `get_system_status`, the minutely tasks, the admin's status page, the demo."""

import datetime as dt
import io

import pytest
from django.urls import reverse

from core import clock
from monitoring import demo, health
from monitoring.models import HealthCheck, LedgerVerification, WorkerHeartbeat
from monitoring.tasks_health import record_health_check
from tests.adminurls import admin_url
from tests.mcp.conftest import McpClient

pytestmark = pytest.mark.django_db

HEALTH, STATUS = "/api/v1/system/health", "/api/v1/system/status"
NAMES = ["database", "cache", "broker", "worker", "beat", "outbox", "disk", "fraud_model", "ledger_verification",
         "audit_chain"]
CHANGELIST = reverse("admin:monitoring_healthcheck_changelist")
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.PAYMENTS_RISK_SCORER = ""  # no model library loaded by these tests


def _score(components):
    return health.score_of([(c["name"], c["weight"], c["state"]) for c in components])


def test_rest_health_runs_every_check_with_timings(client_for):
    r = client_for("monitoring:read", role="auditor").get(HEALTH)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["state", "score", "formula", "checked_at", "duration_ms", "components"]
    assert [c["name"] for c in body["components"]] == NAMES
    assert [list(c) for c in body["components"]] == [
        ["name", "state", "weight", "message", "duration_ms", "details"]] * len(NAMES)
    assert (body["score"], body["formula"]) == _score(body["components"])
    assert all(c["duration_ms"] >= 0 for c in body["components"])
    # A fresh test database: nothing verified, no worker has beaten yet.
    states = {c["name"]: c["state"] for c in body["components"]}
    assert (states["database"], states["worker"], states["ledger_verification"], states["audit_chain"]) == (
        "ok", "down", "degraded", "degraded")
    assert HealthCheck.objects.count() == 0


def test_status_is_live_without_a_fresh_recorded_check_then_recorded(api):
    with clock.frozen_at(NOW):
        live = api.get(STATUS).json()
    assert (live["source"], live["health_check_id"], live["age_seconds"]) == ("live", None, 0)
    assert [list(c) for c in live["components"]] == [["name", "state", "weight", "message", "duration_ms"]] * 10
    with clock.frozen_at(NOW):
        answer = record_health_check.apply().get()
    recorded = HealthCheck.objects.get()
    assert answer == {"health_check_id": recorded.pk, "score": recorded.score, "state": recorded.state, "purged": 0}
    assert (recorded.source, recorded.checked_at, [c["name"] for c in recorded.components]) == (
        "monitoring.record_health_check", NOW, NAMES)
    with clock.frozen_at(NOW + dt.timedelta(seconds=90)):
        status = api.get(STATUS).json()
    assert (status["source"], status["health_check_id"], status["age_seconds"]) == ("recorded", recorded.pk, 90)
    assert (status["score"], status["formula"], status["state"]) == (recorded.score, recorded.formula,
                                                                     recorded.state)
    assert status["checked_at"] == "2026-03-02T12:00:00Z"
    assert status["components"] == [{k: c[k] for k in ("name", "state", "weight", "message", "duration_ms")}
                                    for c in recorded.components]
    with clock.frozen_at(NOW + dt.timedelta(seconds=121)):
        assert api.get(STATUS).json()["source"] == "live"


def test_recorded_checks_are_purged_after_the_retention():
    with clock.frozen_at(NOW - dt.timedelta(days=8)):
        record_health_check.apply()
    with clock.frozen_at(NOW):
        answer = record_health_check.apply().get()
    assert answer["purged"] == 1
    assert list(HealthCheck.objects.values_list("checked_at", flat=True)) == [NOW]


@pytest.mark.parametrize(("scopes", "role", "code", "details"), [
    ("payments:read", "admin", "insufficient_scope", {"required_scope": "monitoring:read"}),
    ("monitoring:read", "support", "permission_denied", {"required_permission": "monitoring.view_healthcheck"}),
])
@pytest.mark.parametrize(("url", "tool"), [(HEALTH, "perform_health_check"), (STATUS, "get_system_status")])
def test_rest_and_mcp_refuse_without_scope_or_permission(make_key, client_for, scopes, role, code, details, url,
                                                         tool):
    r = client_for(scopes, role=role).get(url)
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["details"]) == (403, code, details)
    error = McpClient(make_key(scopes, role=role).raw_key).error(tool)
    assert (error["code"], error["details"]) == (code, details)
    assert HealthCheck.objects.count() == 0


def test_rest_refuses_query_arguments_and_anonymous(api, client):
    r = api.get(STATUS, {"fresh": "1"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_error")
    assert client.get(HEALTH).status_code == 401


def test_mcp_tools_answer_like_rest(make_key):
    mcp = McpClient(make_key("monitoring:read", role="operator").raw_key)
    assert {"perform_health_check", "get_system_status"} <= set(mcp.tool_names())
    checked = mcp.ok("perform_health_check")
    assert [c["name"] for c in checked["components"]] == NAMES
    assert (checked["score"], checked["formula"]) == _score(checked["components"])
    status = mcp.ok("get_system_status")
    assert status["source"] == "live"
    assert [(c["name"], c["weight"]) for c in status["components"]] == [
        (c["name"], c["weight"]) for c in checked["components"]]


def test_admin_status_page_shows_score_formula_and_components(staff_client):
    with clock.frozen_at(NOW - dt.timedelta(minutes=1)):
        record_health_check.apply()
    recorded = HealthCheck.objects.get()
    client = staff_client("auditor")
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    live = page.context["health_live"]
    assert f"Health score {live['score']}/100" in html
    assert live["formula"] in html.replace("&#x27;", "'")
    for name in NAMES:
        assert f"<code>{name}</code>" in html
    assert 'class="bo-health-state bo-health-state-down">down</span>' in html  # no worker heartbeat
    assert 'data-label="Message"' in html and "Recorded checks (every minute)" in html
    assert admin_url(recorded) in html
    detail = client.get(admin_url(recorded))
    assert detail.status_code == 200 and recorded.formula in detail.content.decode().replace("&#x27;", "'")
    index = client.get(reverse("admin:index")).content.decode()
    assert CHANGELIST in index and "System status" in index
    assert staff_client("support").get(CHANGELIST).status_code == 403


def test_demo_seeds_a_verification_and_a_check_and_no_heartbeat():
    """No worker runs while the seed does: it writes no heartbeat (one for a worker that never ran went stale and
    made a fresh make run "degraded", that worker "stopped"), and its recorded check says the worker is down."""
    out = io.StringIO()
    demo.seed(rng=None, stdout=out)
    demo.seed(rng=None, stdout=out)
    assert WorkerHeartbeat.objects.count() == 0
    assert list(LedgerVerification.objects.values_list("ok", "source")) == [(True, "seed_demo")]
    check = HealthCheck.objects.get()
    assert check.source == "seed_demo"
    worker = next(c for c in check.components if c["name"] == "worker")
    assert (worker["state"], worker["details"]["workers"]) == ("down", [])
    assert out.getvalue().count("health check recorded: score") == 1


def test_command_prints_the_report_and_exits_1_unless_all_ok():
    import json

    from django.core.management import call_command

    out = io.StringIO()
    with clock.frozen_at(NOW), pytest.raises(SystemExit) as exited:
        call_command("health_check", "--record", stdout=out)
    assert exited.value.code == 1  # no worker has beaten in a test database
    printed = json.loads(out.getvalue())
    recorded = HealthCheck.objects.get()
    assert list(printed) == ["state", "score", "formula", "checked_at", "duration_ms", "components",
                             "health_check_id"]
    assert (printed["health_check_id"], printed["score"], printed["checked_at"], recorded.source) == (
        recorded.pk, recorded.score, "2026-03-02T12:00:00Z", "manage.py health_check")
    assert [c["name"] for c in printed["components"]] == NAMES
