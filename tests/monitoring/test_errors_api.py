"""log_error, get_errors, get_error and resolve_error over REST, MCP and the admin; refusals change nothing;
nothing stored holds a card number, a secret or an e-mail address."""

import datetime as dt
import json

import pytest
from django.utils.html import escape

from core import clock
from core.models import AuditEvent
from monitoring import errorlog
from monitoring.models import ErrorGroup
from tests.adminurls import admin_url, operation_url
from tests.mcp.conftest import McpClient

from .errors_support import _errorlog_handler  # noqa: F401

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
PAN = "4242424242424242"
SPACED_PAN = "4242 4242 4242 4242"
EMAIL = "jane.doe@example.com"
SECRET = "hunter2-very-secret"


def _audit_count():
    return AuditEvent.objects.filter(action__in=["error.reported", "error_group.resolved"]).count()


def _stored_text(group):
    return json.dumps({f.attname: getattr(group, f.attname) for f in ErrorGroup._meta.fields}, default=str)


def test_log_error_groups_counts_and_audits(api):
    with clock.frozen_at(T0):
        first = api.post("/api/v1/errors", {"message": "export exp_AAAAAAAA11 failed: disk full",
                                            "level": "fatal", "source": "exports", "details": {"attempt": 1}},
                         format="json")
    with clock.frozen_at(T0 + dt.timedelta(minutes=1)):
        second = api.post("/api/v1/errors", {"message": "export exp_BBBBBBBB22 failed: disk full",
                                             "source": "exports"}, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    body = second.json()
    assert body["id"] == first.json()["id"] and body["id"].startswith("errg_")
    assert {k: body[k] for k in ("object", "kind", "level", "title", "culprit", "source", "count", "first_seen",
                                 "last_seen", "resolved", "resolved_at", "reopened_at")} == {
        "object": "error_group", "kind": "message", "level": "error",
        "title": "export exp_AAAAAAAA11 failed: disk full", "culprit": "exports", "source": "exports", "count": 2,
        "first_seen": "2026-11-30T12:00:00Z", "last_seen": "2026-11-30T12:01:00Z", "resolved": False,
        "resolved_at": None, "reopened_at": None}
    assert body["sample"] == {"request_id": body["sample"]["request_id"], "route": "",
                              "message": "export exp_BBBBBBBB22 failed: disk full", "traceback": "", "details": {}}
    events = AuditEvent.objects.filter(action="error.reported").order_by("occurred_at")
    assert [(e.object_id, e.details["count"]) for e in events] == [(body["id"], 1), (body["id"], 2)]


def test_list_filters_get_and_resolve(api):
    with clock.frozen_at(T0):
        errorlog.report_error("old warning", level="warning", source="a")
    with clock.frozen_at(T0 + dt.timedelta(days=1)):
        errorlog.report_error("new error", source="b")
    listed = api.get("/api/v1/errors").json()
    assert [g["title"] for g in listed["data"]] == ["new error", "old warning"]
    assert [g["title"] for g in api.get("/api/v1/errors?level=warning").json()["data"]] == ["old warning"]
    assert [g["title"] for g in api.get("/api/v1/errors?since=2026-12-01T00:00:00Z").json()["data"]] == ["new error"]
    group_id = listed["data"][0]["id"]
    one = api.get(f"/api/v1/errors/{group_id}").json()
    assert one["title"] == "new error"
    assert one["recent_occurrences"] == [{"occurred_at": "2026-12-01T12:00:00Z", "level": "error", "request_id": "",
                                          "route": "", "message": "new error", "details": {}}]
    with clock.frozen_at(T0 + dt.timedelta(days=2)):
        resolved = api.post(f"/api/v1/errors/{group_id}/resolve", format="json")
    assert resolved.status_code == 200
    assert (resolved.json()["resolved"], resolved.json()["resolved_at"]) == (True, "2026-12-02T12:00:00Z")
    assert [g["title"] for g in api.get("/api/v1/errors?resolved=true").json()["data"]] == ["new error"]
    assert [g["title"] for g in api.get("/api/v1/errors?resolved=false").json()["data"]] == ["old warning"]
    assert AuditEvent.objects.filter(action="error_group.resolved", object_id=group_id).count() == 1


def test_refusals_change_nothing(api, client_for):
    errorlog.report_error("kept", source="a")
    group = ErrorGroup.objects.get()
    api.post(f"/api/v1/errors/{group.pk}/resolve", format="json")
    before, audits = _stored_text(ErrorGroup.objects.get()), _audit_count()
    reader = client_for("monitoring:read")
    refusals = [
        (reader.post("/api/v1/errors", {"message": "x"}, format="json"), 403, "insufficient_scope"),
        (reader.post(f"/api/v1/errors/{group.pk}/resolve", format="json"), 403, "insufficient_scope"),
        (client_for("payments:read").get("/api/v1/errors"), 403, "insufficient_scope"),
        (api.post(f"/api/v1/errors/{group.pk}/resolve", format="json"), 409, "error_already_resolved"),
        (api.post("/api/v1/errors/errg_missing/resolve", format="json"), 404, "not_found"),
        (api.post("/api/v1/errors/pay_missing/resolve", format="json"), 404, "not_found"),
        (api.post("/api/v1/errors", {"message": f"card {PAN} failed"}, format="json"), 400, None),
        (api.post("/api/v1/errors", {"message": "x", "level": "panic"}, format="json"), 400, "validation_error"),
        (api.post("/api/v1/errors", {"message": "x", "colour": "red"}, format="json"), 400, "validation_error"),
        (api.post("/api/v1/errors", {"message": "x", "details": {"k": "v" * 9000}}, format="json"), 400,
         "validation_error"),
    ]
    for response, status, code in refusals:
        assert response.status_code == status, response.content
        if code:
            assert response.json()["error"]["code"] == code
    assert (ErrorGroup.objects.count(), _stored_text(ErrorGroup.objects.get()), _audit_count()) == (1, before, audits)


def test_mcp_tools_log_list_and_refuse(make_key):
    writer = McpClient(make_key("monitoring:write").raw_key)
    reader = McpClient(make_key("monitoring:read").raw_key)
    result = writer.call("log_error", {"message": "agent saw a timeout", "source": "agent",
                                       "idempotency_key": "agent-log-0001"})
    assert not result.get("isError"), result
    group = result["structuredContent"]
    assert (group["title"], group["count"]) == ("agent saw a timeout", 1)
    assert [g["id"] for g in reader.ok("get_errors", {})["data"]] == [group["id"]]
    assert reader.ok("get_error", {"error_id": group["id"]})["source"] == "agent"
    before, audits = _stored_text(ErrorGroup.objects.get()), _audit_count()
    assert reader.error("log_error", {"message": "no", "idempotency_key": "agent-log-0002"})["code"] == \
        "insufficient_scope"
    assert reader.error("resolve_error", {"error_id": group["id"], "idempotency_key": "agent-resolve-01"})["code"] \
        == "insufficient_scope"
    assert (ErrorGroup.objects.count(), _stored_text(ErrorGroup.objects.get()), _audit_count()) == (1, before, audits)


def test_nothing_stored_holds_a_card_number_secret_or_email(api, settings):
    try:
        raise ValueError(f"charge for {EMAIL} with card {SPACED_PAN} failed; password={SECRET} "
                         f"Authorization: Bearer sk_live_abcdefghijklmnop {settings.SECRET_KEY}")
    except ValueError as exc:
        errorlog.capture_exception(exc)
    errorlog.report_error(f"login of {EMAIL} failed: token={SECRET}", source="auth",
                          details={"api_key": SECRET, "nested": {"who": EMAIL, "card": PAN, "client_secret": "abc"},
                                   "list": [f"card {PAN}"]})
    response = api.post("/api/v1/errors", {"message": f"webhook to {EMAIL} refused", "source": "hooks",
                                           "details": {"password": SECRET, "contact": EMAIL}}, format="json")
    assert response.status_code == 201
    assert ErrorGroup.objects.count() == 3
    for group in ErrorGroup.objects.all():
        text = _stored_text(group)
        for leaked in (PAN, SPACED_PAN, "4242-4242", EMAIL, "example.com", SECRET, "sk_live_abcdefghijklmnop",
                       settings.SECRET_KEY):
            assert leaked not in text, (leaked, group.title)
    exc_group = ErrorGroup.objects.get(kind="exception")
    assert exc_group.title == ("ValueError: charge for j***@e***.com with card [PAN ****4242] failed; "
                               "password=[REDACTED] Authorization: [REDACTED] [REDACTED]")
    reported = ErrorGroup.objects.get(source="auth")
    assert reported.sample_details == {"api_key": "[REDACTED]", "list": ["card [PAN ****4242]"],
                                       "nested": {"who": "j***@e***.com", "card": "[REDACTED]",
                                                                  "client_secret": "[REDACTED]"}}
    assert ErrorGroup.objects.get(source="hooks").sample_details == {"password": "[REDACTED]",
                                                                     "contact": "j***@e***.com"}


def test_admin_lists_shows_the_sample_and_resolves(staff_client):
    try:
        raise KeyError("missing")
    except KeyError as exc:
        errorlog.capture_exception(exc)
    group = ErrorGroup.objects.get()
    admin = staff_client("admin")
    listing = admin.get("/admin/monitoring/errorgroup/?resolved__exact=0").content.decode()
    assert escape(group.title) in listing and "/admin/monitoring/errorgroup/" in listing
    page = admin.get(admin_url(group)).content.decode()
    assert 'class="bo-trace"' in page and "KeyError: &#x27;missing&#x27;" in page and "Recent occurrences" in page
    assert operation_url(group, "resolve_error") in page
    response = admin.post(operation_url(group, "resolve_error"), {"_operation": "resolve_error",
                                                                  "_token": "tok-000000000001"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.resolved, group.resolved_by) == (True, admin.user.get_username())
    assert operation_url(group, "resolve_error") not in admin.get(admin_url(group)).content.decode()
    assert staff_client("support").get(admin_url(group)).status_code == 403
