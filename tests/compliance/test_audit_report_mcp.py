"""The MCP tools generate_audit_report and get_audit_trail: same answers as REST, same refusals."""

import pytest

from core.models import AuditEvent
from tests.mcp.conftest import McpClient

from .report_data import plant_week
from .test_audit_report import expected_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(make_staff, customer):
    return plant_week(make_staff, customer)


@pytest.fixture
def mcp_auditor(make_key):
    created = make_key("compliance:read", role="auditor")
    return McpClient(created.raw_key)


def test_tools_are_listed_read_only(mcp_auditor):
    tools = {t["name"]: t for t in mcp_auditor.rpc("tools/list")["result"]["tools"]}
    for name in ("generate_audit_report", "get_audit_trail"):
        assert tools[name]["annotations"]["readOnlyHint"] is True


def test_generate_audit_report(week, mcp_auditor):
    report = mcp_auditor.ok("generate_audit_report", {"from": "2026-03-02", "to": "2026-03-08"})
    report.pop("generated_at")
    assert report == expected_report(week)


def test_generate_audit_report_validation(mcp_auditor):
    error = mcp_auditor.error("generate_audit_report", {"from": "2026-03-09", "to": "2026-03-08"})
    assert error["code"] == "validation_error"
    assert error["details"]["fields"] == {"from": ["Must be on or before to."]}
    error = mcp_auditor.error("generate_audit_report", {"from": "2026-03-02"})
    assert error["details"]["fields"] == {"to": ["This argument is required."]}


def test_get_audit_trail(week, mcp_auditor):
    page = mcp_auditor.ok("get_audit_trail", {"action": "wallet.adjusted", "limit": 1})
    assert [e["id"] for e in page["data"]] == week.ids("adjust_weekend") and page["has_more"] is True
    rest = mcp_auditor.ok("get_audit_trail", {"action": "wallet.adjusted", "cursor": page["next_cursor"]})
    assert [e["id"] for e in rest["data"]] == week.ids("adjust_in_hours") and rest["has_more"] is False
    assert rest["data"][0]["details"] == {"entry_id": rest["data"][0]["details"]["entry_id"], "amount": 5000,
                                          "reason": "goodwill"}
    legacy = mcp_auditor.ok("get_audit_trail", {"object_id": "pay_review"})
    assert [(e["id"], e["action"]) for e in legacy["data"]] == [
        (week.events["review_rejected_legacy"].pk, "payment.review_rejected")]


@pytest.mark.parametrize(("scopes", "role", "code"), [
    ("payments:read", "auditor", "insufficient_scope"),
    ("compliance:read", "support", "permission_denied"),
])
@pytest.mark.parametrize(("tool", "arguments"), [
    ("generate_audit_report", {"from": "2026-03-02", "to": "2026-03-08"}),
    ("get_audit_trail", {}),
])
def test_refusals(make_key, scopes, role, code, tool, arguments):
    client = McpClient(make_key(scopes, role=role).raw_key)
    count = AuditEvent.objects.count()
    assert client.error(tool, arguments)["code"] == code
    assert AuditEvent.objects.count() == count
