"""Approving and rejecting held calls in the admin are operations (core.admin_ops): a button on
the request's page and a list action, the operation's permission, a preview before anything runs."""

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from accounts.models import Customer
from approvals import services
from approvals.models import ApprovalRequest
from core import clock
from core.context import Actor
from core.models import AuditEvent
from tests.mcp import points

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(mcp, register_op):
    for op in (points.READER, points.REFUND, points.PROVIDER_REFUND):
        register_op(op)
    now = clock.now()
    account = Customer.objects.create(email="acct@example.com", metadata={"currency": "USD", "balance": 100000},
                                      created=now, updated=now)
    services.threshold_save(actor=Actor.system("tests"), api_key=None, operation="zz_refund_points",
                            currency="USD", amount="500.00")
    body = mcp.ok("zz_refund_points", {"points_account_id": account.id, "amount": "600", "currency": "USD",
                                       "idempotency_key": "big"})
    return ApprovalRequest.objects.get(pk=body["approval_id"])


def change_url(approval):
    return reverse("admin:approvals_approvalrequest_change", args=[quote(approval.pk)])


def operation_url(approval, name):
    return reverse("admin:approvals_approvalrequest_operation", args=[quote(approval.pk), name])


def test_the_request_page_offers_the_decisions_to_roles_that_may_decide(staff_client, held):
    for role in ("admin", "finance"):
        page = staff_client(role).get(change_url(held)).content.decode()
        assert operation_url(held, "approve") in page and operation_url(held, "reject") in page, role
    auditor = staff_client("auditor")
    assert "/operation/" not in auditor.get(change_url(held)).content.decode()
    assert auditor.get(operation_url(held, "approve")).status_code == 403


def test_reject_previews_then_rejects_once(staff_client, held):
    client = staff_client("finance")
    form = {"_operation": "reject", "_token": "tok-" + "r" * 12, "note": "not agreed"}
    preview = client.post(operation_url(held, "reject"), form)
    body = preview.content.decode()
    assert preview.status_code == 200 and "Confirm: Reject" in body
    assert "Would succeed; afterwards: status rejected, amount 600.00 USD." in body
    assert ApprovalRequest.objects.get().status == "pending_approval"
    assert not AuditEvent.objects.filter(action="mcp.approval.rejected").exists()
    done = client.post(operation_url(held, "reject"), {**form, "_confirm": "yes"})
    assert (done.status_code, done["Location"]) == (302, change_url(held))
    again = client.post(operation_url(held, "reject"), {**form, "_confirm": "yes"})  # a double submit replays
    assert again.status_code == 302
    rejected = ApprovalRequest.objects.get()
    assert (rejected.status, rejected.decided_by_id, rejected.decision_note, rejected.result_status) == (
        "rejected", client.user.pk, "not agreed", None)
    events = AuditEvent.objects.filter(action="mcp.approval.rejected")
    assert [(e.object_type, e.object_id, e.actor_id) for e in events] == [
        ("mcp_gateway.approvalrequest", held.pk, str(client.user.pk))]


def test_the_preview_tells_the_key_owner_they_may_not_approve_and_nothing_runs(verified_client, mcp, held):
    from accounts.models import StaffTOTPDevice

    owner = mcp.api_key.owner
    client = verified_client(owner, StaffTOTPDevice.objects.create(user=owner, name="default", confirmed=True))
    form = {"_operation": "approve", "_token": "tok-" + "o" * 12, "note": ""}
    preview = client.post(operation_url(held, "approve"), form).content.decode()
    assert "Would be refused:" in preview and "(self_approval_not_allowed)" in preview
    confirmed = client.post(operation_url(held, "approve"), {**form, "_confirm": "yes"})
    messages = [str(m) for m in confirmed.wsgi_request._messages]
    assert confirmed.status_code == 302 and any("self_approval_not_allowed" in m for m in messages), messages
    assert ApprovalRequest.objects.get().status == "pending_approval"
    assert Customer.objects.get().metadata["balance"] == 100000


def test_a_session_without_a_second_factor_cannot_approve(make_staff, held):
    client = Client()
    client.force_login(make_staff(role="admin"))
    form = {"_operation": "approve", "_token": "tok-" + "n" * 12, "note": "", "_confirm": "yes"}
    response = client.post(operation_url(held, "approve"), form)
    # The admin site itself sends a session without its second factor back to the login.
    assert (response.status_code, response["Location"].split("?")[0]) == (302, "/admin/login/")
    assert ApprovalRequest.objects.get().status == "pending_approval"
    assert Customer.objects.get().metadata["balance"] == 100000
