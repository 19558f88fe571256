"""review_payment for agents and integrators: REST `POST /api/v1/risk/payments/{id}/review` and the MCP
tool, scope risk:write, approvable on the payment's amount, idempotent; the decision is the label."""

import pytest

from approvals import services as approvals
from approvals.models import ApprovalRequest
from core.context import Actor
from core.models import AuditEvent
from payments.models import Payment
from payments.services import payment_create
from tests.mcp.conftest import mcp, mcp_for  # noqa: F401

ACTOR = Actor.system("tests")


@pytest.fixture
def held(customer, one_sandbox):
    """Payments of 10,000.00 by mail order: rules-1 scores them 70, held for review."""

    def make():
        payment = payment_create(actor=ACTOR, customer_id=customer.id, amount=1_000_000, currency="USD",
                                 method="card", payment_method="tok_visa", capture_method="automatic",
                                 channel="moto")
        assert (payment.status, payment.review_status) == ("requires_capture", "pending")
        return payment

    return make


def _state(payment):
    payment.refresh_from_db()
    return payment.status, payment.review_status, payment.fraud_label, payment.amount_captured


def test_rest_approve_captures_and_reject_cancels(api, held):
    approved, rejected = held(), held()
    response = api.post(f"/api/v1/risk/payments/{approved.id}/review", {"decision": "approve", "note": "known buyer"},
                        format="json", HTTP_IDEMPOTENCY_KEY="rev-1")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["amount_captured"]) == (approved.id, "succeeded", "10000.00")
    assert _state(approved) == ("succeeded", "approved", False, 1_000_000)
    event = AuditEvent.objects.get(action="payment.review_approved", object_id=approved.id)
    assert (event.actor_type, event.details) == ("api_key", {"note": "known buyer"})

    response = api.post(f"/api/v1/risk/payments/{rejected.id}/review", {"decision": "reject", "note": "stolen card"},
                        format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "canceled"
    assert _state(rejected) == ("canceled", "rejected", True, 0)
    # Decided: a second decision is refused.
    again = api.post(f"/api/v1/risk/payments/{rejected.id}/review", {"decision": "approve"}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_state_transition")


def test_rest_replay_with_the_same_idempotency_key(api, held):
    payment = held()
    url = f"/api/v1/risk/payments/{payment.id}/review"
    first = api.post(url, {"decision": "approve"}, format="json", HTTP_IDEMPOTENCY_KEY="rev-same")
    replay = api.post(url, {"decision": "approve"}, format="json", HTTP_IDEMPOTENCY_KEY="rev-same")
    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    assert AuditEvent.objects.filter(action="payment.review_approved", object_id=payment.id).count() == 1
    other = api.post(url, {"decision": "reject"}, format="json", HTTP_IDEMPOTENCY_KEY="rev-same")
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reuse")


def test_rest_review_needs_risk_write(client_for, held):
    payment = held()
    for scopes in ("risk:read", "payments:write"):
        response = client_for(scopes).post(f"/api/v1/risk/payments/{payment.id}/review", {"decision": "approve"},
                                           format="json")
        assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
        assert response.json()["error"]["details"] == {"required_scope": "risk:write"}
    support = client_for("risk:write", role="support")
    denied = support.post(f"/api/v1/risk/payments/{payment.id}/review", {"decision": "approve"}, format="json")
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission_denied")
    assert _state(payment) == ("requires_capture", "pending", None, 0)


def test_mcp_approve_and_reject(mcp, held):  # noqa: F811
    approved, rejected = held(), held()
    body = mcp.ok("review_payment", {"payment_id": approved.id, "decision": "approve", "note": "ok",
                                     "idempotency_key": "m1"})
    assert (body["status"], body["amount_captured"]) == ("succeeded", "10000.00")
    assert _state(approved) == ("succeeded", "approved", False, 1_000_000)
    replay = mcp.ok("review_payment", {"payment_id": approved.id, "decision": "approve", "note": "ok",
                                       "idempotency_key": "m1"})
    assert replay == body
    body = mcp.ok("review_payment", {"payment_id": rejected.id, "decision": "reject", "note": "mule",
                                     "idempotency_key": "m2"})
    assert (body["status"], body["amount_captured"]) == ("canceled", "0.00")
    assert _state(rejected) == ("canceled", "rejected", True, 0)


def test_mcp_review_needs_risk_write(mcp_for, held):  # noqa: F811
    payment = held()
    client = mcp_for("risk:read")
    assert "review_payment" not in client.tool_names()
    error = client.error("review_payment", {"payment_id": payment.id, "decision": "approve", "idempotency_key": "k"})
    assert error["code"] == "insufficient_scope"
    assert _state(payment) == ("requires_capture", "pending", None, 0)


def test_a_review_above_the_threshold_is_held_for_approval(api, mcp, held):  # noqa: F811
    rest_payment, mcp_payment = held(), held()
    for key in (api.api_key, mcp.api_key):
        approvals.threshold_save(actor=ACTOR, api_key=key, operation="review_payment", currency="USD",
                                 amount="5000.00")
    response = api.post(f"/api/v1/risk/payments/{rest_payment.id}/review", {"decision": "approve"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="big-1")
    assert response.status_code == 202, response.json()
    approval = ApprovalRequest.objects.get(api_key=api.api_key)
    assert response.json()["approval_id"] == approval.id
    assert (response.json()["status"], response.json()["amount"], response.json()["currency"]) == (
        "pending_approval", "10000.00", "USD")
    assert (approval.operation, approval.amount, approval.arguments) == (
        "review_payment", 1_000_000, {"payment_id": rest_payment.id, "decision": "approve"})
    held_mcp = mcp.ok("review_payment", {"payment_id": mcp_payment.id, "decision": "reject",
                                         "idempotency_key": "big-2"})
    assert (held_mcp["status"], held_mcp["amount"]) == ("pending_approval", "10000.00")
    # Nothing decided while held.
    assert _state(rest_payment) == ("requires_capture", "pending", None, 0)
    assert _state(mcp_payment) == ("requires_capture", "pending", None, 0)
    assert Payment.objects.filter(review_status="pending").count() == 2
