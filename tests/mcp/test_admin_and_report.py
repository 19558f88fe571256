"""Staff side: thresholds edited in the admin through the service, the read-only call log,
and the performance report over the log."""

import datetime as dt

import pytest
from django.core.management import call_command

from approvals.models import ApprovalThreshold
from core import clock
from core.admin_base import latency_text
from core.models import AuditEvent
from mcp_gateway.models import ToolCall
from mcp_gateway.selectors import tool_call_report
from monitoring import requestlog
from monitoring.models import HealthCheck, RequestLog
from tests.adminurls import admin_url

from . import points

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(staff_client):
    """An admin's browser session past the second factor (the shared `staff_client` factory)."""
    return staff_client("admin")


def test_threshold_is_created_in_the_admin_through_the_service(admin_session, register_op, mcp):
    register_op(points.REFUND)
    response = admin_session.post("/admin/approvals/approvalthreshold/add/", {
        "api_key": mcp.api_key.pk, "operation": "zz_refund_points", "currency": "USD", "amount": "500.00"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    threshold = ApprovalThreshold.objects.get()
    assert (threshold.api_key_id, threshold.operation, threshold.currency, threshold.amount) == (
        mcp.api_key.pk, "zz_refund_points", "USD", 50000)
    event = AuditEvent.objects.get(action="mcp.threshold.saved")
    assert event.actor_id == str(admin_session.user.pk)
    listing = admin_session.get("/admin/approvals/approvalthreshold/")
    assert "500.00" in listing.content.decode()


@pytest.mark.parametrize(("amount", "operation"), [("5.001", "zz_refund_points"), ("abc", "zz_refund_points"),
                                                   ("5", "create_customer")])
def test_bad_threshold_is_refused_and_nothing_saved(admin_session, register_op, amount, operation):
    register_op(points.REFUND)
    response = admin_session.post("/admin/approvals/approvalthreshold/add/", {
        "operation": operation, "currency": "USD", "amount": amount})
    assert response.status_code == 200  # the form again, with its error
    assert not ApprovalThreshold.objects.exists()
    assert not AuditEvent.objects.filter(action="mcp.threshold.saved").exists()


def test_tool_call_log_is_read_only_in_the_admin(admin_session, mcp):
    mcp.ok("list_customers")
    call = ToolCall.objects.get()
    assert admin_session.get("/admin/mcp_gateway/toolcall/").status_code == 200
    page = admin_session.get(admin_url(call))
    assert page.status_code == 200 and "list_customers" in page.content.decode()
    assert admin_session.get("/admin/mcp_gateway/toolcall/add/").status_code == 403
    assert admin_session.post(admin_url(call, "delete"), {"post": "yes"}).status_code == 403
    assert ToolCall.objects.count() == 1


def test_performance_report(mcp, capsys):
    for _ in range(3):
        mcp.ok("list_customers")
    mcp.error("get_customer", {"customer_id": "cus_nope"})
    rows = tool_call_report(since=clock.now() - dt.timedelta(hours=1))
    assert [(r["tool"], r["calls"], r["errors"]) for r in rows] == [("get_customer", 1, 1), ("list_customers", 3, 0)]
    durations = sorted(ToolCall.objects.filter(tool="list_customers").values_list("duration_ms", flat=True))
    listing = rows[1]
    assert listing["max_ms"] == durations[-1] and listing["p95_ms"] == durations[-1]
    assert listing["avg_ms"] == pytest.approx(sum(durations) / 3)
    assert tool_call_report(since=clock.now() + dt.timedelta(seconds=1)) == []
    call_command("mcp_tool_report", "--hours", "1")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["tool", "calls", "errors", "avg_ms", "p95_ms", "max_ms"]
    assert out[2].split()[:3] == ["list_customers", "3", "0"]


def test_performance_report_p95_per_tool_in_a_fixed_number_of_queries(django_assert_num_queries):
    from mcp_gateway.services import tool_call_record

    # 40 calls of 1..40 ms: p95 is the 39th (not the worst), and another tool's calls do not mix in.
    for ms in [*range(40, 20, -1), *range(1, 21)]:
        tool_call_record(tool="zz_slow", outcome=ToolCall.Outcome.SUCCESS, duration_ms=float(ms))
    for ms in (7.0, 3.0, 5.0):
        tool_call_record(tool="zz_fast", outcome=ToolCall.Outcome.ERROR, duration_ms=ms)
    with django_assert_num_queries(2):
        rows = tool_call_report(since=clock.now() - dt.timedelta(hours=1))
    assert [(r["tool"], r["calls"], r["errors"], r["p95_ms"], r["max_ms"]) for r in rows] == [
        ("zz_fast", 3, 3, 7.0, 7.0), ("zz_slow", 40, 0, 39.0, 40.0)]


def test_latencies_read_alike_in_the_tool_call_log_request_log_and_health_checks(admin_session, mcp):
    assert [latency_text(ms) for ms in (0.04, 3.46, 9.96, 31.4, 1234.5)] == [
        "0.0 ms", "3.5 ms", "10 ms", "31 ms", "1,234 ms"]
    mcp.ok("list_customers")
    call = ToolCall.objects.get()
    ToolCall.objects.filter(pk=call.pk).update(duration_ms=3.46)
    listing = admin_session.get("/admin/mcp_gateway/toolcall/").content.decode()
    assert '<td class="field-duration">3.5 ms</td>' in listing
    requestlog.write([requestlog.Entry(
        created=clock.now(), kind="rest", method="GET", route="GET /api/v1/wallets", path="/api/v1/wallets",
        status=200, duration_ms=1234.5, request_id="req_slow")])
    assert RequestLog.objects.get().duration_ms == 1234.5
    assert '<td class="field-duration">1,234 ms</td>' in admin_session.get(
        "/admin/monitoring/requestlog/").content.decode()
    HealthCheck.objects.create(checked_at=clock.now(), score=100, state="ok", formula="-", components=[],
                               duration_ms=31.4, source="test")
    assert '<td class="field-duration">31 ms</td>' in admin_session.get(
        "/admin/monitoring/healthcheck/").content.decode()
