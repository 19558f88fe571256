"""Alerts at every door: REST, MCP and the admin; each write audited; refusals change nothing."""

import pytest
from django.core import mail

from core.models import AuditEvent, Event, OutboxMessage
from monitoring.alerts.notify import send_notification
from monitoring.alerts.services import alert_raise
from monitoring.models import Alert, AlertNote, AlertRule
from tests.adminurls import admin_url
from tests.mcp.conftest import McpClient
from tests.monitoring.alertkit import STAFF

pytestmark = pytest.mark.django_db
URL = "/api/v1/alerts"


def raise_one(key="k1", severity="high", title="Queue stuck"):
    return alert_raise(actor=STAFF, source="manual", dedup_key=key, severity=severity, title=title,
                       reason="Nothing moved for 10 min.", details={"n": 1})


def state():
    return (list(Alert.objects.order_by("pk").values_list("pk", "status", "occurrence_count", "updated")),
            AlertNote.objects.count(),
            # Refusals are audited as refusals (core); no alert action is.
            AuditEvent.objects.filter(action__startswith="alert", outcome="success").count(),
            Event.objects.count(), OutboxMessage.objects.count())


def test_rest_create_fold_list_get_acknowledge_resolve(api, settings):
    settings.ALERTS_DEFAULT_RECIPIENTS = ["oncall@example.com"]
    r = api.post(URL, {"title": "Provider status page red", "severity": "high", "reason": "Status page says so.",
                       "dedup_key": "provider:sandbox", "details": {"provider": "sandbox"}}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    alert_id = body["id"]
    assert alert_id.startswith("alrt_")
    assert {k: body[k] for k in ("object", "status", "severity", "source", "rule", "title", "dedup_key", "reason",
                                 "details", "rank_score", "occurrence_count", "notes", "resolved_at")} == {
        "object": "alert", "status": "open", "severity": "high", "source": "manual", "rule": None,
        "title": "Provider status page red", "dedup_key": "provider:sandbox", "reason": "Status page says so.",
        "details": {"provider": "sandbox"}, "rank_score": 60, "occurrence_count": 1, "notes": [],
        "resolved_at": None}
    assert body["rank_reason"].startswith("high: set by ") and body["rank_reason"].endswith(" when raised.")
    # The e-mail goes out once, by its outbox task (here run by hand): a second run sends nothing.
    assert OutboxMessage.objects.filter(task="monitoring.send_alert_notification").count() == 1
    assert send_notification(alert_id, "created") == 1 and send_notification(alert_id, "created") == 0
    assert [(m.subject, m.to) for m in mail.outbox] == [("[HIGH] Provider status page red", ["oncall@example.com"])]

    again = api.post(URL, {"title": "Provider status page red", "severity": "medium", "dedup_key": "provider:sandbox"},
                     format="json")
    assert again.status_code == 201 and again.json()["id"] == alert_id
    assert (again.json()["occurrence_count"], again.json()["severity"]) == (2, "high")
    assert OutboxMessage.objects.filter(task="monitoring.send_alert_notification").count() == 1
    assert Event.objects.filter(type="alert.created").count() == 1

    other = raise_one(key="other", severity="low")
    listed = api.get(URL, {"status": "open", "severity": "high"}).json()
    assert [a["id"] for a in listed["data"]] == [alert_id] and listed["has_more"] is False
    assert [a["id"] for a in api.get(URL, {"source": "manual"}).json()["data"]] == [other.pk, alert_id]
    assert api.get(f"{URL}/{alert_id}").json()["occurrence_count"] == 2

    ack = api.post(f"{URL}/{alert_id}/acknowledge", {"note": "looking"}, format="json")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert [n["text"] for n in ack.json()["notes"]] == ["looking"]
    resolved = api.post(f"{URL}/{alert_id}/resolve", {"note": "provider fixed it"}, format="json")
    assert resolved.status_code == 200
    assert (resolved.json()["status"], [n["text"] for n in resolved.json()["notes"]]) == (
        "resolved", ["looking", "provider fixed it"])
    assert resolved.json()["resolved_by"] == resolved.json()["notes"][1]["by"]
    assert Event.objects.filter(type="alert.resolved", object_id=alert_id).count() == 1
    # In the order they happened: `seq` is NULL until the sealer runs, and PostgreSQL returns NULLs in any order.
    actions = AuditEvent.objects.filter(object_id=alert_id).order_by("occurred_at").values_list("action", flat=True)
    assert list(actions) == [
        "alert.created", "alert.folded", "alert.acknowledged", "alert.resolved"]
    # Raising the same key again after resolution opens a new alert.
    reopened = api.post(URL, {"title": "Again", "severity": "low", "dedup_key": "provider:sandbox"}, format="json")
    assert reopened.json()["id"] != alert_id and reopened.json()["occurrence_count"] == 1


def test_rest_refusals_change_nothing(api, client_for):
    alert = raise_one()
    api.post(f"{URL}/{alert.pk}/resolve", {"note": "done"}, format="json")
    before = state()
    twice = api.post(f"{URL}/{alert.pk}/resolve", {"note": "again"}, format="json")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "alert_already_resolved")
    ack = api.post(f"{URL}/{alert.pk}/acknowledge", {}, format="json")
    assert (ack.status_code, ack.json()["error"]["code"]) == (409, "alert_already_resolved")
    fresh = raise_one(key="k2")
    before = state()
    no_note = api.post(f"{URL}/{fresh.pk}/resolve", {}, format="json")
    assert (no_note.status_code, no_note.json()["error"]["details"]["fields"]) == (
        400, {"note": ["This field is required."]})
    bad = api.post(URL, {"title": "x", "severity": "urgent"}, format="json")
    assert (bad.status_code, list(bad.json()["error"]["details"]["fields"])) == (400, ["severity"])
    missing = api.post(f"{URL}/alrt_nope/resolve", {"note": "x"}, format="json")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    reader = client_for("monitoring:read")
    refused = reader.post(f"{URL}/{fresh.pk}/resolve", {"note": "x"}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope")
    support = client_for("monitoring:write", role="support")
    denied = support.post(f"{URL}/{fresh.pk}/acknowledge", {}, format="json")
    assert (denied.status_code, denied.json()["error"]["details"]) == (
        403, {"required_permission": "monitoring.acknowledge_alert"})
    assert reader.get(URL).status_code == 200
    assert state() == before


def test_mcp_tools(make_key):
    raise_one(key="low", severity="low", title="Low one")
    mcp = McpClient(make_key("monitoring:read,monitoring:write", role="operator").raw_key)
    created = mcp.ok("create_alert", {"title": "Agent saw errors", "severity": "critical", "reason": "5xx burst",
                                        "idempotency_key": "mcp-create-1"})
    assert (created["severity"], created["status"], created["source"]) == ("critical", "open", "manual")
    active = mcp.ok("get_active_alerts")
    assert [(a["title"], a["severity"]) for a in active["data"]] == [("Agent saw errors", "critical"),
                                                                     ("Low one", "low")]
    assert mcp.ok("get_alert", {"alert_id": created["id"]})["id"] == created["id"]
    acked = mcp.ok("acknowledge_alert", {"alert_id": created["id"], "idempotency_key": "mcp-ack-1"})
    assert acked["status"] == "acknowledged"
    done = mcp.ok("resolve_alert", {"alert_id": created["id"], "note": "transient",
                                          "idempotency_key": "mcp-resolve-1"})
    assert done["status"] == "resolved" and done["notes"][-1]["text"] == "transient"
    assert [a["title"] for a in mcp.ok("get_active_alerts")["data"]] == ["Low one"]
    assert [a["id"] for a in mcp.ok("list_alerts", {"status": "resolved"})["data"]] == [created["id"]]
    before = state()
    error = mcp.error("resolve_alert", {"alert_id": created["id"], "note": "again",
                                            "idempotency_key": "mcp-resolve-2"})
    assert error["code"] == "alert_already_resolved"
    assert state() == before


def test_admin_lists_filters_and_acts_through_the_operations(staff_client):
    alert = raise_one()
    admin = staff_client("admin")
    listing = admin.get("/admin/monitoring/alert/", {"status__exact": "open", "severity__exact": "high"})
    assert listing.status_code == 200 and alert.pk in listing.content.decode()
    page = admin.get(admin_url(alert))
    assert page.status_code == 200 and "Nothing moved for 10 min." in page.content.decode()
    acked = admin.post("/admin/monitoring/alert/", {"action": "acknowledge_alert", "_selected_action": [alert.pk],
                                                    "_operation": "acknowledge_alert", "_token": "a" * 16,
                                                    "note": "on it"})
    assert acked.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", admin.user.username)
    resolve = {"action": "resolve_alert", "_selected_action": [alert.pk], "_operation": "resolve_alert",
               "_token": "r" * 16, "note": "fixed"}
    support = staff_client("support")
    support.post("/admin/monitoring/alert/", resolve)
    assert Alert.objects.get().status == "acknowledged"
    assert admin.post("/admin/monitoring/alert/", resolve).status_code == 302
    alert.refresh_from_db()
    assert (alert.status, [n.text for n in alert.notes.all()]) == ("resolved", ["on it", "fixed"])
    assert AuditEvent.objects.filter(object_id=alert.pk, action="alert.resolved", actor_type="user").count() == 1


def test_admin_rule_form_saves_through_the_service(staff_client):
    admin = staff_client("admin")
    form = {"name": "api errors", "kind": "error_rate", "enabled": "on", "params": '{"threshold": 0.1}',
            "route": "", "window_minutes": 5, "recipients": '["ops@example.com"]', "severity_floor": "low",
            "severity_override": ""}
    assert admin.get("/admin/monitoring/alertrule/add/").status_code == 200
    done = admin.post("/admin/monitoring/alertrule/add/", form)
    assert done.status_code == 302, done.content.decode()[:2000]
    saved = AlertRule.objects.get()
    assert (saved.params, saved.actor_type) == ({"threshold": 0.1, "min_requests": 20}, "user")
    assert AuditEvent.objects.filter(action="alert_rule.created", object_id=str(saved.pk)).count() == 1
    before = AuditEvent.objects.count()
    refused = admin.post("/admin/monitoring/alertrule/add/", {**form, "name": "bad", "params": '{"threshold": 5}'})
    # The form shows the service's refusal on the field; nothing saved, nothing audited.
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {"params": ["threshold: between 0.0001 and 1.0."]}
    assert AlertRule.objects.count() == 1 and AuditEvent.objects.count() == before


def test_the_list_reads_alerts_their_rules_and_notes_in_a_fixed_number_of_queries(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.monitoring.alertkit import rule

    def listed(n):
        for i in range(n):
            alert_raise(actor=STAFF, source="disk_space", dedup_key=f"q{n}-{i}", severity="low", title=f"t{i}",
                        reason="r", rule=rule("disk_space", name=f"rule {n}-{i}"))
        with CaptureQueriesContext(connection) as queries:
            response = api.get("/api/v1/alerts", {"limit": 100})
        assert response.status_code == 200 and all(item["rule"] for item in response.json()["data"])
        return len(queries.captured_queries)

    listed(1)  # the key's first request loads what later ones find cached
    assert listed(2) == listed(6)
