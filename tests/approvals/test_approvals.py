"""Thresholds hold destructive calls of API keys in both doors; another verified staff member
decides; the approved call runs once, as the key, with its own idempotency key."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIRequestFactory

from accounts.models import Customer
from approvals import services
from approvals.models import ApprovalRequest
from core import clock
from core.context import Actor
from core.errors import DomainError
from core.models import AuditEvent, IdempotencyRecord
from core.rest import operation_view
from mcp_gateway.models import ToolCall
from tests.concurrency import failures, run_threads
from tests.mcp import points

pytestmark = pytest.mark.django_db


@pytest.fixture
def point_ops(register_op):
    for op in (points.READER, points.REFUND, points.PROVIDER_REFUND):
        register_op(op)


@pytest.fixture
def account(db):
    now = clock.now()
    return Customer.objects.create(email="acct@example.com", metadata={"currency": "USD", "balance": 100000},
                                   created=now, updated=now)


def balance(account) -> int:
    account.refresh_from_db()
    return account.metadata["balance"]


def refund_args(account, amount: str, key: str) -> dict:
    """Arguments of a zz_refund_points call in USD."""
    return {"points_account_id": account.id, "amount": amount, "currency": "USD", "idempotency_key": key}


def threshold(amount="500.00", currency="USD", operation="zz_refund_points", api_key=None):
    actor = Actor.system("tests")
    return services.threshold_save(actor=actor, api_key=api_key, operation=operation,
                                                              currency=currency, amount=amount)


def approve(approval_id, user, verified=True):
    return services.approval_approve(actor=Actor.for_user(user), approval_id=approval_id,
                                     second_factor_verified=verified)


def test_no_threshold_no_hold(mcp, point_ops, account):
    result = mcp.ok("zz_refund_points", {"points_account_id": account.id, "amount": "600.00", "currency": "usd",
                                         "idempotency_key": "r1"})
    assert result == {"id": account.id, "amount": "600.00", "currency": "USD", "balance": "400.00"}
    assert ApprovalRequest.objects.count() == 0


def test_call_above_threshold_is_held_and_changes_nothing(mcp, point_ops, account):
    limit = threshold("500.00")
    held = mcp.ok("zz_refund_points", refund_args(account, "500.01", "big"))
    approval = ApprovalRequest.objects.get()
    assert held == {"status": "pending_approval", "approval_id": approval.id, "operation": "zz_refund_points",
                    "amount": "500.01", "currency": "USD", "expires_at": clock.isoformat(approval.expires_at)}
    assert approval.id.startswith("apr_")
    assert (approval.api_key_id, approval.idempotency_key, approval.amount, approval.threshold_id) == (
        mcp.api_key.pk, "big", 50001, limit.pk)
    assert approval.arguments == {"points_account_id": account.id, "amount": "500.01", "currency": "USD"}
    assert balance(account) == 100000
    assert ToolCall.objects.get().outcome == "pending_approval"
    assert ToolCall.objects.get().approval_id == approval.id
    # At the threshold itself the call runs.
    ran = mcp.ok("zz_refund_points", refund_args(account, "500.00", "edge"))
    assert ran["balance"] == "500.00"


def test_threshold_in_another_currency_does_not_apply(mcp, point_ops, account):
    threshold("1.00", currency="EUR")
    assert mcp.ok("zz_refund_points", refund_args(account, "600", "r"))["balance"] == "400.00"


def test_currency_comes_from_the_target_when_the_call_has_none(mcp, point_ops, account):
    threshold("500.00")
    held = mcp.ok("zz_refund_points", {"points_account_id": account.id, "amount": "700",
                                       "idempotency_key": "nocur"})
    assert (held["status"], held["amount"], held["currency"]) == ("pending_approval", "700.00", "USD")


def test_call_without_amount_is_held_by_any_binding_threshold(mcp, point_ops, account):
    threshold("500.00")
    held = mcp.ok("zz_refund_points", {"points_account_id": account.id, "idempotency_key": "all"})
    assert held["status"] == "pending_approval" and held["amount"] is None
    assert balance(account) == 100000


def test_key_threshold_beats_the_all_keys_one(mcp, mcp_for, point_ops, account):
    threshold("500.00")
    threshold("1000.00", api_key=mcp.api_key)
    assert mcp.ok("zz_refund_points", refund_args(account, "600", "a"))["balance"] == "400.00"
    other = mcp_for("*")
    assert other.ok("zz_refund_points", refund_args(account, "600", "a"))["status"] == "pending_approval"


def test_replay_returns_the_current_state_and_reuse_is_refused(mcp, point_ops, account):
    threshold("500.00")
    args = refund_args(account, "600", "k")
    first = mcp.ok("zz_refund_points", args)
    assert mcp.ok("zz_refund_points", args) == first
    assert ApprovalRequest.objects.count() == 1
    error = mcp.error("zz_refund_points", {**args, "amount": "601"})
    assert error["code"] == "idempotency_key_reuse"
    assert ApprovalRequest.objects.count() == 1


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_approval_by_another_verified_staff_member_runs_the_call_once(mcp, point_ops, account, make_staff, role):
    threshold("500.00")
    args = refund_args(account, "600", "go")
    held = mcp.ok("zz_refund_points", args)
    status = mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})
    assert (status["status"], status["result"], status["error"], status["decided_by"]) == (
        "pending_approval", None, None, None)
    approver = make_staff(role)
    done = approve(held["approval_id"], approver)
    assert (done.status, done.result_status, done.decided_by_id) == ("executed", 200, approver.pk)
    assert balance(account) == 40000
    executed = mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})
    assert executed["status"] == "executed" and executed["decided_by"] == approver.username
    assert executed["result"] == {"id": account.id, "amount": "600.00", "currency": "USD", "balance": "400.00"}
    # The held call ran as the key, under the same idempotency key: a retry replays it.
    assert IdempotencyRecord.objects.filter(scope=f"api_key:{mcp.api_key.pk}", key="go").count() == 1
    assert mcp.ok("zz_refund_points", args) == executed["result"]
    assert balance(account) == 40000
    actions = list(AuditEvent.objects.filter(action__startswith="mcp.approval").order_by("occurred_at")
                   .values_list("action", "actor_id"))
    assert actions == [("mcp.approval.requested", str(mcp.api_key.pk)), ("mcp.approval.approved", str(approver.pk)),
                       ("mcp.approval.executed", str(approver.pk))]
    updated = AuditEvent.objects.get(action="customer.updated")
    assert (updated.actor_type, updated.actor_id) == ("api_key", str(mcp.api_key.pk))


@pytest.mark.parametrize(("who", "verified", "code"), [
    ("owner", True, "self_approval_not_allowed"),
    ("other", False, "second_factor_required"),
    ("support", True, "permission_denied"),
    ("operator", True, "permission_denied"),
    ("risk_analyst", True, "permission_denied"),
])
def test_who_may_not_approve(mcp, point_ops, account, make_staff, who, verified, code):
    threshold("500.00")
    held = mcp.ok("zz_refund_points", refund_args(account, "600", "x"))
    user = mcp.api_key.owner if who == "owner" else make_staff("admin" if who == "other" else who)
    with pytest.raises(DomainError) as info:
        approve(held["approval_id"], user, verified)
    assert info.value.code == code
    assert ApprovalRequest.objects.get().status == "pending_approval"
    assert balance(account) == 100000


def test_reject_and_double_decisions(mcp, point_ops, account, make_staff):
    threshold("500.00")
    args = refund_args(account, "600", "no")
    held = mcp.ok("zz_refund_points", args)
    staff = make_staff("admin")
    rejected = services.approval_reject(actor=Actor.for_user(staff), approval_id=held["approval_id"],
                                        second_factor_verified=True, note="too big")
    assert (rejected.status, rejected.decision_note, rejected.decided_by_id) == ("rejected", "too big", staff.pk)
    event = AuditEvent.objects.get(action="mcp.approval.rejected")
    assert (event.actor_id, event.object_id) == (str(staff.pk), held["approval_id"])
    with pytest.raises(DomainError) as info:
        approve(held["approval_id"], staff)
    assert info.value.code == "approval_not_pending"
    assert mcp.ok("zz_refund_points", args)["status"] == "rejected"
    assert mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})["status"] == "rejected"
    assert balance(account) == 100000


def test_unanswered_requests_expire_after_24_hours(mcp, point_ops, account, make_staff):
    threshold("500.00")
    held = mcp.ok("zz_refund_points", refund_args(account, "600", "late"))
    staff = make_staff("admin")
    with time_machine.travel(clock.now() + dt.timedelta(hours=24, seconds=1)):
        assert mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})["status"] == "expired"
        with pytest.raises(DomainError) as info:
            approve(held["approval_id"], staff)
        assert info.value.code == "approval_expired"
    assert balance(account) == 100000


def test_a_refusal_at_execution_is_reported_and_replayed(mcp, point_ops, account, make_staff):
    threshold("500.00")
    args = refund_args(account, "900", "short")
    held = mcp.ok("zz_refund_points", args)
    mcp.ok("zz_refund_points", refund_args(account, "200", "meanwhile"))
    done = approve(held["approval_id"], make_staff("admin"))
    assert (done.status, done.result_status) == ("executed", 422)
    status = mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})
    assert status["result"] is None
    assert status["error"] == {"code": "insufficient_funds", "message": "Not enough points.",
                               "details": {"balance": 80000}}
    assert mcp.error("zz_refund_points", args)["code"] == "insufficient_funds"
    assert balance(account) == 80000


def test_approval_status_is_private_to_the_key(mcp, mcp_for, point_ops, account):
    threshold("500.00")
    held = mcp.ok("zz_refund_points", refund_args(account, "600", "mine"))
    other = mcp_for("wallets:read")
    assert other.error("get_approval_status", {"approval_id": held["approval_id"]}) == {
        "code": "not_found", "message": "No such approval request.", "details": {"approval_id": held["approval_id"]}}
    for unknown in ("pay_123", "apr_doesnotexist"):
        assert mcp.error("get_approval_status", {"approval_id": unknown}) == {
            "code": "not_found", "message": "No such approval request.", "details": {"approval_id": unknown}}


def test_rest_door_answers_202_for_the_same_hold(mcp, point_ops, account):
    threshold("500.00")
    view = operation_view("PointsRefund", path_params={"points_account_id": "points_account_id"},
                          post="zz_refund_points").as_view()
    request = APIRequestFactory().post("/x", {"amount": "600", "currency": "USD"}, format="json",
                                       HTTP_AUTHORIZATION=f"Bearer {mcp.raw_key}", HTTP_IDEMPOTENCY_KEY="rest-1")
    response = view(request, points_account_id=account.id)
    assert response.status_code == 202
    approval = ApprovalRequest.objects.get()
    assert response.data["status"] == "pending_approval" and response.data["approval_id"] == approval.id
    # REST without a key: the hold still gets one, so the approved call runs exactly once.
    request = APIRequestFactory().post("/x", {"amount": "700", "currency": "USD"}, format="json",
                                       HTTP_AUTHORIZATION=f"Bearer {mcp.raw_key}")
    assert view(request, points_account_id=account.id).status_code == 202
    assert ApprovalRequest.objects.exclude(pk=approval.pk).get().idempotency_key.startswith("approval:")
    assert balance(account) == 100000


def test_staff_sessions_are_not_held(point_ops, account, make_staff):
    from core.operations import get_operation, invoke

    threshold("500.00")
    staff = make_staff("admin")
    result = invoke(get_operation("zz_refund_points"), actor=Actor.for_user(staff),
                    data={"points_account_id": account.id, "amount": "600", "currency": "USD"})
    assert result.status == 200 and balance(account) == 40000


def test_admin_action_approves_with_a_verified_session(staff_client, mcp, point_ops, account):
    threshold("500.00")
    held = mcp.ok("zz_refund_points", refund_args(account, "600", "adm"))
    client = staff_client("admin")
    listing = client.get("/admin/approvals/approvalrequest/")
    assert listing.status_code == 200 and held["approval_id"] in listing.content.decode()
    # An operation like any other admin write: its form, then its preview, then the call once confirmed.
    chosen = {"action": "approve", "_selected_action": [held["approval_id"]]}
    form = client.post("/admin/approvals/approvalrequest/", chosen)
    assert form.status_code == 200 and 'name="note"' in form.content.decode()
    filled = {**chosen, "_operation": "approve", "_token": "tok-" + "a" * 12, "note": "checked with the payer"}
    preview = client.post("/admin/approvals/approvalrequest/", filled)
    assert "Would succeed; afterwards: status approved, amount 600.00 USD." in preview.content.decode()
    assert ApprovalRequest.objects.get().status == "pending_approval" and balance(account) == 100000
    response = client.post("/admin/approvals/approvalrequest/", {**filled, "_confirm": "yes"}, follow=True)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["Approve and run: 1 done."]
    decided = ApprovalRequest.objects.get()
    assert (decided.status, decided.decided_by_id, decided.decision_note, decided.result_status) == (
        "executed", client.user.pk, "checked with the payer", 200)
    assert balance(account) == 40000
    assert client.get("/admin/mcp_gateway/toolcall/").status_code == 200


# --- dry runs ------------------------------------------------------------------------------


def test_dry_run_simulates_and_rolls_back(mcp, point_ops, account):
    audit_before = AuditEvent.objects.count()
    preview = mcp.ok("zz_refund_points", {"points_account_id": account.id, "amount": "250", "currency": "USD",
                                          "idempotency_key": "dry", "dry_run": True})
    assert preview == {"dry_run": True, "operation": "zz_refund_points", "mode": "simulated", "would_succeed": True,
                       "arguments": {"points_account_id": account.id, "amount": "250", "currency": "USD"},
                       "requires_approval": False, "approval_threshold": None, "target": None, "error": None,
                       "result": {"id": account.id, "amount": "250.00", "currency": "USD", "balance": "750.00"}}
    assert balance(account) == 100000
    assert AuditEvent.objects.count() == audit_before
    assert not IdempotencyRecord.objects.exists()
    assert ToolCall.objects.get().outcome == "dry_run" and ToolCall.objects.get().dry_run is True
    # The same key then does the real thing.
    real = mcp.ok("zz_refund_points", refund_args(account, "250", "dry"))
    assert real["balance"] == "750.00" and balance(account) == 75000


def test_dry_run_reports_a_refusal_and_a_hold_without_creating_either(mcp, point_ops, account):
    threshold("500.00")
    preview = mcp.ok("zz_refund_points", {"points_account_id": account.id, "amount": "5000", "currency": "USD",
                                          "idempotency_key": "dry2", "dry_run": True})
    assert preview["would_succeed"] is False and preview["result"] is None
    assert preview["error"] == {"code": "insufficient_funds", "message": "Not enough points.",
                                "details": {"balance": 100000}}
    assert preview["requires_approval"] is True
    assert preview["approval_threshold"] == {"threshold_amount": "500.00", "currency": "USD"}
    assert not ApprovalRequest.objects.exists()


def test_dry_run_of_a_provider_call_is_a_preview_that_never_calls_it(mcp, point_ops, account):
    preview = mcp.ok("zz_provider_refund", {"points_account_id": account.id, "amount": "10",
                                            "idempotency_key": "p", "dry_run": True})
    assert preview["mode"] == "preview" and preview["would_succeed"] is None
    assert preview["target"] == {"id": account.id, "currency": "USD", "balance": "1000.00"}
    assert preview["arguments"] == {"points_account_id": account.id, "amount": "10"}


def test_dry_run_is_refused_on_tools_that_are_not_destructive(mcp):
    error = mcp.error("create_customer", {"email": "a@example.com", "idempotency_key": "k", "dry_run": True})
    assert error["details"] == {"fields": {"dry_run": ["Unknown argument."]}}
    assert not Customer.objects.exists()


def test_dry_run_still_needs_the_scope(mcp_for, point_ops, account):
    reader = mcp_for("payments:read")
    error = reader.error("zz_refund_points", {"points_account_id": account.id, "amount": "1",
                                              "idempotency_key": "s", "dry_run": True})
    assert error["code"] == "insufficient_scope"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_run_the_call_once(roles, mcp_for, point_ops, make_staff):

    now = clock.now()
    acct = Customer.objects.create(email="race@example.com", metadata={"currency": "USD", "balance": 100000},
                                   created=now, updated=now)
    client = mcp_for("*")
    threshold("500.00")
    held = client.ok("zz_refund_points", {"points_account_id": acct.id, "amount": "600", "currency": "USD",
                                          "idempotency_key": "race"})
    approvers = [make_staff("admin"), make_staff("admin")]
    outcomes = run_threads(2, lambda i: approve(held["approval_id"], approvers[i]).status)
    assert sorted(o.code if isinstance(o, DomainError) else o for o in outcomes) == [
        "approval_not_pending", "executed"]
    acct.refresh_from_db()
    assert acct.metadata["balance"] == 40000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_held_call_sent_twice_at_once_makes_one_request(roles, mcp_for, point_ops):
    now = clock.now()
    acct = Customer.objects.create(email="twice@example.com", metadata={"currency": "USD", "balance": 100000},
                                   created=now, updated=now)
    client = mcp_for("*")
    threshold("500.00")
    args = {"points_account_id": acct.id, "amount": "600", "currency": "USD", "idempotency_key": "twice"}
    answers = run_threads(4, lambda i: client.ok("zz_refund_points", args))
    assert failures(answers) == []
    approval = ApprovalRequest.objects.get()
    assert {a["approval_id"] for a in answers} == {approval.id}
    assert {a["status"] for a in answers} == {"pending_approval"}
    acct.refresh_from_db()
    assert acct.metadata["balance"] == 100000


def test_approval_status_over_rest(mcp, mcp_for, point_ops, account):
    from rest_framework.test import APIClient

    threshold("500.00")
    held = mcp.ok("zz_refund_points", refund_args(account, "600", "rest-status"))
    rest = APIClient()
    rest.credentials(HTTP_AUTHORIZATION=f"Bearer {mcp.raw_key}")
    response = rest.get(f"/api/v1/approvals/{held['approval_id']}")
    assert response.status_code == 200
    assert response.json() == mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {mcp_for('*').raw_key}")
    assert stranger.get(f"/api/v1/approvals/{held['approval_id']}").status_code == 404


def test_holding_and_deciding_a_call_are_events(mcp, point_ops, account, make_staff):
    from core.models import Event

    threshold("500.00")
    held = mcp.ok("zz_refund_points", refund_args(account, "600", "evt"))
    requested = Event.objects.get(type="approval.requested")
    assert (requested.object_id, requested.data["object"]["status"], requested.actor_id) == (
        held["approval_id"], "pending_approval", str(mcp.api_key.pk))
    approver = make_staff("finance")
    approve(held["approval_id"], approver)
    decided = Event.objects.get(type="approval.decided")
    assert (decided.object_id, decided.actor_id, decided.data["previous_attributes"]["status"]) == (
        held["approval_id"], str(approver.pk), "pending_approval")
    # The key's owner (an admin) may view approval requests, so its key lists their events.
    assert mcp.ok("list_events", {"type": "approval.decided"})["data"][0]["id"] == decided.pk
