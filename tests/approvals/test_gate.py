"""What a call is worth is declared by its operation (`value=`, `target=`), and the gate reads the
target object once per call, whichever door the call came through."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from approvals import services
from approvals.models import ApprovalRequest
from core.context import Actor
from core.operations import Operation, all_operations, register
from payments.models import Payment, Refund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_sandbox")]


@pytest.fixture
def payment(mcp):
    customer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "cust"})["id"]
    return mcp.ok("create_payment", {"amount": "900.00", "currency": "usd", "customer_id": customer,
                                     "payment_method": "tok_visa", "idempotency_key": "p"})


@pytest.fixture
def refund_threshold(db):
    return services.threshold_save(actor=Actor.system("tests"), api_key=None, operation="refund_payment",
                                   currency="USD", amount="500.00")


def payment_reads(queries) -> int:
    return sum('FROM "payments_payment"' in q["sql"] for q in queries)


def test_every_approvable_operation_declares_what_a_call_is_worth():
    approvable = {op.name: op for op in all_operations() if op.approvable}
    assert sorted(approvable) == ["capture_payment", "create_payment", "refund_payment", "review_payment",
                                  "top_up_wallet", "transfer_funds", "withdraw_funds"]
    assert all(op.value is not None for op in approvable.values())
    assert {name: op.target for name, op in approvable.items()} == {
        "capture_payment": "get_payment_status", "create_payment": None, "refund_payment": "get_payment_status",
        "review_payment": "get_payment_status", "top_up_wallet": "get_wallet_balance", "transfer_funds": None,
        "withdraw_funds": "get_wallet_balance"}


def test_an_approvable_operation_without_a_value_is_refused_at_registration():
    op = Operation(name="zz_unpriced", title="t", description="t", handler=lambda **kw: None,
                   scope="payments:write", read_only=False, approvable=True)
    with pytest.raises(ValueError, match="declare value="):
        register(op)
    assert "zz_unpriced" not in {o.name for o in all_operations()}


def test_a_held_call_reads_its_target_once(mcp, payment, refund_threshold):
    with CaptureQueriesContext(connection) as queries:
        held = mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "600", "idempotency_key": "r"})
    assert (held["status"], held["amount"], held["currency"]) == ("pending_approval", "600.00", "USD")
    assert payment_reads(queries.captured_queries) == 1
    assert Refund.objects.count() == 0 and Payment.objects.get(pk=payment["id"]).amount_refunded == 0


def test_a_held_rest_call_reads_its_target_once(mcp, payment, refund_threshold):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mcp.raw_key}")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": "600"}, format="json")
    assert response.status_code == 202, response.content
    assert (response.json()["status"], response.json()["currency"]) == ("pending_approval", "USD")
    assert payment_reads(queries.captured_queries) == 1
    assert ApprovalRequest.objects.get().arguments == {"payment_id": payment["id"], "amount": "600"}
    assert Refund.objects.count() == 0


def test_a_dry_run_reads_its_target_once_for_the_preview_and_the_threshold(mcp, payment, refund_threshold):
    with CaptureQueriesContext(connection) as queries:
        preview = mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "600", "idempotency_key": "d",
                                            "dry_run": True})
    assert preview["requires_approval"] is True
    assert preview["approval_threshold"] == {"threshold_amount": "500.00", "currency": "USD"}
    assert (preview["target"]["id"], preview["target"]["amount_refunded"]) == (payment["id"], "0.00")
    assert payment_reads(queries.captured_queries) == 1
    assert ApprovalRequest.objects.count() == 0 and Refund.objects.count() == 0
