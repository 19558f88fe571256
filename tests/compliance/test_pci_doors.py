"""The PCI self-assessment at every door: REST `GET /api/v1/compliance/pci`, MCP `validate_pci_compliance`,
`manage.py pci_check` and the admin's PCI page (recorded runs, audited)."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Customer, StaffTOTPDevice
from compliance import pci
from compliance.models import PciAssessment
from core.models import AuditEvent
from tests.adminurls import admin_url
from tests.factories import CustomerFactory
from tests.mcp.conftest import McpClient

pytestmark = pytest.mark.django_db

URL = "/api/v1/compliance/pci"
CHANGELIST = reverse("admin:compliance_pciassessment_changelist")
ADD = reverse("admin:compliance_pciassessment_add")
PAN = "4111 1111 1111 1111"
IDS = ["staff_second_factor", "password_length", "login_lockout", "session_idle_timeout", "debug_off", "https_only",
       "no_card_numbers_in_database", "no_card_numbers_in_logs", "api_keys_hashed", "wildcard_keys_rotated",
       "secrets_encrypted", "staff_roles", "audit_chain_intact", "audit_retention"]


def _all_pass(settings, monkeypatch):
    """Production transport settings, every staff user enrolled (the device's seed is stored encrypted)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    from accounts.models import User

    for user in User.objects.filter(is_staff=True):
        StaffTOTPDevice.objects.get_or_create(user=user, defaults={"name": "default", "confirmed": True})


def _command(*args):
    out = io.StringIO()
    try:
        call_command("pci_check", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


# --- manage.py pci_check --------------------------------------------------------------------------


def test_command_prints_one_json_object_and_exits_0_when_nothing_failed(make_staff, settings, monkeypatch):
    make_staff("admin")
    _all_pass(settings, monkeypatch)
    code, out = _command()
    assert code == 0
    assert list(out) == ["score", "checks"]
    assert out["score"] == 100
    assert [list(c) for c in out["checks"]] == [["id", "requirement", "status", "evidence"]] * len(IDS)
    assert [c["id"] for c in out["checks"]] == IDS
    assert {c["status"] for c in out["checks"]} == {"passed", "not_applicable"}
    assert PciAssessment.objects.count() == 0


def test_command_exits_1_when_a_check_failed(make_staff, settings, monkeypatch):
    make_staff("admin")
    _all_pass(settings, monkeypatch)
    planted = CustomerFactory()
    Customer.objects.filter(pk=planted.pk).update(metadata={"card": PAN})
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("pci_check", stdout=out)
    assert exited.value.code == 1
    text = out.getvalue()
    assert text.count("\n") == 1 and "4111111111111111" not in text and PAN not in text
    failed = [c for c in json.loads(text)["checks"] if c["status"] == "failed"]
    assert [c["id"] for c in failed] == ["no_card_numbers_in_database"]
    assert failed[0]["evidence"].startswith(
        f"1 card number(s) found: accounts_customer.metadata id={planted.pk} at card (…1111); ")
    assert json.loads(text)["score"] == 92  # 12 of 13 applicable checks passed


def test_command_record_stores_the_run_and_audits_it(make_staff):
    make_staff("admin")
    code, out = _command("--record")
    assessment = PciAssessment.objects.get()
    assert code == 1  # the test settings have no HTTPS, the staff user no device
    assert list(out) == ["score", "checks", "assessment_id"]
    assert out["assessment_id"] == assessment.pk and assessment.pk.startswith("pci_")
    assert (assessment.score, assessment.actor_type, assessment.actor_label) == (out["score"], "system", "pci_check")
    assert [c["id"] for c in assessment.checks] == IDS
    assert (assessment.passed + assessment.failed + assessment.not_applicable) == len(IDS)
    event = AuditEvent.objects.get(action="pci_assessment.recorded")
    assert (event.object_type, event.object_id, event.actor_type) == ("compliance.pciassessment", assessment.pk,
                                                                      "system")
    assert event.details == {"score": assessment.score, "passed": assessment.passed, "failed": assessment.failed,
                             "not_applicable": assessment.not_applicable,
                             "failed_checks": [c["id"] for c in assessment.checks if c["status"] == "failed"]}


# --- REST and MCP -----------------------------------------------------------------------------------


def _same_checks(rest, mcp):
    """The live answers of two calls: the same checks; the database scan's row counts may differ (the MCP
    call log is a table), so its evidence is compared up to its counts."""
    assert list(rest) == list(mcp) == ["score", "checks", "assessed_at"]
    assert rest["score"] == mcp["score"]
    strip = [{**c, "evidence": "" if c["id"] == "no_card_numbers_in_database" else c["evidence"]}
             for c in rest["checks"]]
    assert strip == [{**c, "evidence": "" if c["id"] == "no_card_numbers_in_database" else c["evidence"]}
                     for c in mcp["checks"]]


def test_rest_and_mcp_answer_the_same_checks(client_for, make_key):
    rest_client = client_for("compliance:read", role="auditor")
    mcp_key = make_key("compliance:read", role="auditor")
    mcp = McpClient(mcp_key.raw_key)
    r = rest_client.get(URL)
    assert r.status_code == 200
    rest = r.json()
    assert [c["id"] for c in rest["checks"]] == IDS
    assert [list(c) for c in rest["checks"]] == [["id", "requirement", "title", "status", "evidence"]] * len(IDS)
    assert rest["assessed_at"].endswith("Z")
    tool = mcp.ok("validate_pci_compliance")
    _same_checks(rest, tool)
    assert PciAssessment.objects.count() == 0


def test_rest_shows_a_planted_card_number_masked(api):
    planted = CustomerFactory()
    Customer.objects.filter(pk=planted.pk).update(name=f"x {PAN}")
    r = api.get(URL)
    body = r.content.decode()
    assert r.status_code == 200 and "4111111111111111" not in body and PAN not in body
    check = {c["id"]: c for c in r.json()["checks"]}["no_card_numbers_in_database"]
    assert check["status"] == "failed"
    assert check["evidence"].startswith(f"1 card number(s) found: accounts_customer.name id={planted.pk} (…1111); ")


@pytest.mark.parametrize(("scopes", "role", "code", "details"), [
    ("payments:read", "admin", "insufficient_scope", {"required_scope": "compliance:read"}),
    ("compliance:read", "support", "permission_denied", {"required_permission": "compliance.view_pciassessment"}),
])
def test_rest_and_mcp_refuse_without_scope_or_permission(make_key, client_for, scopes, role, code, details):
    r = client_for(scopes, role=role).get(URL)
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["details"]) == (403, code, details)
    error = McpClient(make_key(scopes, role=role).raw_key).error("validate_pci_compliance")
    assert (error["code"], error["details"]) == (code, details)
    assert PciAssessment.objects.count() == 0


def test_rest_refuses_query_arguments(api):
    r = api.get(URL, {"verbose": "1"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_error")


def test_unauthenticated_is_401(client):
    assert client.get(URL).status_code == 401


def test_run_pci_assessment_is_not_a_rest_or_mcp_door(mcp_for):
    assert "run_pci_assessment" not in mcp_for("*").tool_names()
    assert "validate_pci_compliance" in mcp_for("compliance:read", role="auditor").tool_names()


@pytest.fixture
def mcp_for(make_key):
    def make(scopes="*", role="admin"):
        return McpClient(make_key(scopes, role=role).raw_key)

    return make


# --- the admin ----------------------------------------------------------------------------------


def test_admin_runs_records_and_shows_an_assessment(staff_client):
    client = staff_client("finance")
    empty = client.get(CHANGELIST)
    assert empty.status_code == 200
    assert "No assessment recorded yet." in empty.content.decode()
    assert "Run and record an assessment" in empty.content.decode()
    page = client.get(ADD)
    assert page.status_code == 200 and list(page.context["form"].fields) == []
    r = client.post(ADD, {"_token": "tok-" + "p" * 16})
    assessment = PciAssessment.objects.get()
    assert (r.status_code, r.url) == (302, admin_url(assessment))
    assert (assessment.actor_type, assessment.actor_id) == ("user", str(client.user.pk))
    event = AuditEvent.objects.get(action="pci_assessment.recorded")
    assert (event.object_id, event.actor_type, event.actor_id) == (assessment.pk, "user", str(client.user.pk))
    # A double submit replays the first call.
    client.post(ADD, {"_token": "tok-" + "p" * 16})
    assert PciAssessment.objects.count() == 1

    listing = client.get(CHANGELIST).content.decode()
    assert f"Latest assessment: {assessment.score}/100" in listing
    assert 'class="bo-pci-status bo-pci-status-failed">failed</span>' in listing
    assert 'class="bo-pci-status bo-pci-status-passed">passed</span>' in listing
    assert 'data-label="Evidence"' in listing
    detail = client.get(admin_url(assessment)).content.decode()
    assert "A second factor is enforced for every staff user of the admin" in detail
    assert "bo-pci-status-not_applicable" in detail


def test_admin_without_the_add_permission_can_read_but_not_run(staff_client):
    client = staff_client("auditor")
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200 and "Run and record an assessment" not in listing.content.decode()
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"_token": "tok-" + "q" * 16}).status_code == 403
    assert PciAssessment.objects.count() == 0 and not AuditEvent.objects.filter(
        action="pci_assessment.recorded").exists()
    assert staff_client("support").get(CHANGELIST).status_code == 403


def test_a_recorded_run_stores_findings_masked_and_is_not_itself_a_finding(make_staff):
    make_staff("admin")
    planted = CustomerFactory()
    Customer.objects.filter(pk=planted.pk).update(metadata={"card": PAN})
    _command("--record")
    stored = json.dumps(PciAssessment.objects.get().checks, ensure_ascii=False)
    assert "4111111111111111" not in stored and PAN not in stored and "(…1111)" in stored
    again = {c["id"]: c for c in pci.run_assessment()["checks"]}["no_card_numbers_in_database"]
    assert again["evidence"].startswith(
        f"1 card number(s) found: accounts_customer.metadata id={planted.pk} at card (…1111); ")
