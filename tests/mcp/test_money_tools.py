"""The payments and wallets tools, through the HTTP endpoint: success, domain errors, bad
arguments, missing scope, outputs validated against their schemas, approvals and dry runs."""

import pytest

from accounts.models import Customer
from approvals import services as gateway_services
from approvals.models import ApprovalRequest
from core.context import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_sandbox(settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}


@pytest.fixture
def customer_id(mcp):
    created = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "cust"})["id"]
    # Verified: these tests are about the money tools, not KYC limits (tests/wallets/test_kyc_limits.py).
    mcp.ok("update_customer_kyc", {"customer_id": created, "status": "verified", "note": "test customer",
                                   "idempotency_key": "kyc"})
    return created


def _pay(mcp, customer_id, key, amount="100.00", **extra):
    args = {"amount": amount, "currency": "usd", "customer_id": customer_id, "payment_method": "tok_visa",
            "idempotency_key": key, **extra}
    return mcp.ok("create_payment", args)


def test_payment_capture_partial_refund_and_listing(mcp, customer_id):
    payment = _pay(mcp, customer_id, "p1", capture_method="manual", description="order 1")
    assert payment["id"].startswith("pay_")
    assert (payment["status"], payment["amount"], payment["currency"], payment["amount_capturable"]) == (
        "requires_capture", "100.00", "USD", "100.00")
    assert payment["card"] == {"brand": "visa", "country": "US", "last4": "4242"}
    assert mcp.ok("get_payment_status", {"payment_id": payment["id"]})["status"] == "requires_capture"
    captured = mcp.ok("capture_payment", {"payment_id": payment["id"], "amount": "80", "idempotency_key": "c1"})
    assert (captured["status"], captured["amount_captured"]) == ("succeeded", "80.00")
    refund = mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "30.00", "reason": "duplicate",
                                       "idempotency_key": "r1"})
    assert refund["id"].startswith("re_")
    assert (refund["payment_id"], refund["amount"], refund["currency"], refund["reason"]) == (
        payment["id"], "30.00", "USD", "duplicate")
    after = mcp.ok("get_payment_status", {"payment_id": payment["id"]})
    assert after["amount_refunded"] == "30.00"
    assert mcp.ok("get_refund", {"refund_id": refund["id"]})["amount"] == "30.00"
    listed = mcp.ok("list_payments", {"customer_id": customer_id})
    assert [p["id"] for p in listed["data"]] == [payment["id"]] and listed["has_more"] is False
    verified = mcp.ok("verify_payment", {"payment_id": payment["id"], "idempotency_key": "v1"})
    assert verified["id"] == payment["id"]


def test_payment_domain_errors(mcp, customer_id):
    payment = _pay(mcp, customer_id, "p2")
    assert mcp.error("refund_payment", {"payment_id": payment["id"], "amount": "100.01",
                                        "idempotency_key": "r2"})["code"] == "refund_exceeds_captured"
    assert mcp.error("capture_payment", {"payment_id": payment["id"],
                                         "idempotency_key": "c2"})["code"] == "payment_not_capturable"
    assert mcp.error("get_payment_status", {"payment_id": "cus_wrongprefix"})["code"] == "not_found"
    assert mcp.error("create_payment", {"amount": "1.001", "currency": "USD", "customer_id": customer_id,
                                        "payment_method": "tok_visa", "idempotency_key": "p3"})["code"] == \
        "amount_too_precise"
    assert mcp.error("create_payment", {"amount": "1", "currency": "XXX", "customer_id": customer_id,
                                        "payment_method": "tok_visa", "idempotency_key": "p4"})["code"] == \
        "unsupported_currency"
    card = mcp.error("create_payment", {"amount": "1", "currency": "USD", "customer_id": customer_id,
                                        "payment_method": "4242 4242 4242 4242", "idempotency_key": "p5"})
    assert card["code"] == "raw_card_data_not_allowed"
    declined = _pay(mcp, customer_id, "p6", payment_method="tok_decline_generic")
    assert (declined["status"], declined["failure_code"]) == ("failed", "card_declined")
    bad = mcp.error("create_payment", {"amount": "1", "currency": "USD", "customer_id": customer_id,
                                       "idempotency_key": "p7"})
    assert bad["details"]["fields"] == {"payment_method": ["This argument is required."]}


def test_cancel_payment_and_its_dry_run(mcp, customer_id):
    payment = _pay(mcp, customer_id, "p8", capture_method="manual")
    preview = mcp.ok("cancel_payment", {"payment_id": payment["id"], "idempotency_key": "x1", "dry_run": True})
    assert (preview["mode"], preview["would_succeed"]) == ("preview", None)
    assert preview["target"]["id"] == payment["id"] and preview["target"]["status"] == "requires_capture"
    assert mcp.ok("get_payment_status", {"payment_id": payment["id"]})["status"] == "requires_capture"
    canceled = mcp.ok("cancel_payment", {"payment_id": payment["id"], "idempotency_key": "x1"})
    assert canceled["status"] == "canceled"


def test_wallets_top_up_transfer_history(mcp, customer_id):
    first = mcp.ok("create_wallet", {"customer_id": customer_id, "currency": "USD", "idempotency_key": "w1"})
    other = mcp.ok("create_customer", {"email": "payee@example.com", "idempotency_key": "cust2"})["id"]
    second = mcp.ok("create_wallet", {"customer_id": other, "currency": "USD", "idempotency_key": "w2"})
    assert first["id"].startswith("wal_") and first["balance"] == "0.00"
    top_up = mcp.ok("top_up_wallet", {"wallet_id": first["id"], "amount": "50.00", "payment_method": "tok_visa",
                                      "idempotency_key": "t1"})
    assert top_up["status"] == "succeeded"
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "50.00"
    by_owner = mcp.ok("get_wallet_balance", {"customer_id": customer_id, "currency": "USD"})
    assert by_owner["id"] == first["id"]
    transfer = mcp.ok("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                         "amount": "20.25", "currency": "USD", "description": "rent",
                                         "idempotency_key": "tr1"})
    assert transfer["id"].startswith("txn_") and transfer["amount"] == "20.25"
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "29.75"
    assert mcp.ok("get_wallet_balance", {"wallet_id": second["id"]})["balance"] == "20.25"
    history = mcp.ok("wallet_transaction_history", {"wallet_id": first["id"], "limit": 10})
    assert [t["amount"] for t in history["data"]] == ["-20.25", "50.00"]
    assert mcp.error("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                        "amount": "1000", "currency": "USD",
                                        "idempotency_key": "tr2"})["code"] == "insufficient_funds"
    assert mcp.error("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                        "amount": "1", "currency": "EUR",
                                        "idempotency_key": "tr3"})["code"] == "currency_mismatch"
    assert mcp.error("get_wallet_balance", {"wallet_id": "wal_missing"})["code"] == "not_found"
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "29.75"


def test_money_tools_need_their_scopes(mcp_for, customer_id):
    wallets_reader = mcp_for("wallets:read")
    names = wallets_reader.tool_names()
    assert "get_wallet_balance" in names and "transfer_funds" not in names and "create_payment" not in names
    refused = wallets_reader.error("transfer_funds", {"from_wallet_id": "wal_a", "to_wallet_id": "wal_b",
                                                      "amount": "1", "currency": "USD", "idempotency_key": "s"})
    assert refused == {"code": "insufficient_scope", "message": "The API key lacks the scope this operation needs.",
                       "details": {"required_scope": "wallets:write"}}
    assert mcp_for("payments:read").error("refund_payment", {"payment_id": "pay_x", "idempotency_key": "s"})[
        "code"] == "insufficient_scope"


def test_refund_above_threshold_waits_for_approval_then_runs(mcp, customer_id, make_staff):
    gateway_services.threshold_save(
        actor=Actor.system("tests"), api_key=None, operation="refund_payment", currency="USD", amount="500.00")
    payment = _pay(mcp, customer_id, "big", amount="900.00")
    held = mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "600", "idempotency_key": "rb"})
    assert (held["status"], held["amount"], held["currency"]) == ("pending_approval", "600.00", "USD")
    preview = mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "600", "idempotency_key": "rp",
                                        "dry_run": True})
    assert preview["requires_approval"] is True and preview["target"]["amount_refunded"] == "0.00"
    assert mcp.ok("get_payment_status", {"payment_id": payment["id"]})["amount_refunded"] == "0.00"
    assert mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "100",
                                     "idempotency_key": "small"})["amount"] == "100.00"
    done = gateway_services.approval_approve(actor=Actor.for_user(make_staff("admin")), approval_id=held["approval_id"],
                                             second_factor_verified=True)
    assert (done.status, done.result_status) == ("executed", 201)
    status = mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})
    assert status["result"]["amount"] == "600.00" and status["result"]["id"].startswith("re_")
    assert mcp.ok("get_payment_status", {"payment_id": payment["id"]})["amount_refunded"] == "700.00"
    assert ApprovalRequest.objects.count() == 1
    assert Customer.objects.count() == 1


def test_more_payment_refusals(mcp, customer_id):
    succeeded = _pay(mcp, customer_id, "m1")
    assert mcp.error("cancel_payment", {"payment_id": succeeded["id"], "idempotency_key": "m2"})["code"] == \
        "invalid_state_transition"
    assert mcp.ok("get_payment_status", {"payment_id": succeeded["id"]})["status"] == "succeeded"
    assert mcp.error("verify_payment", {"payment_id": "pay_missing", "idempotency_key": "m3"})["code"] == "not_found"
    assert mcp.error("refund_payment", {"payment_id": "pay_missing", "idempotency_key": "m4"})["code"] == "not_found"
    assert mcp.error("list_payments", {"cursor": "garbage"})["code"] == "validation_error"
    assert mcp.error("get_refund", {"refund_id": "re_missing"})["code"] == "not_found"


def test_top_up_refusals(mcp, customer_id):
    wallet = mcp.ok("create_wallet", {"customer_id": customer_id, "currency": "USD", "idempotency_key": "tw"})
    assert mcp.error("top_up_wallet", {"wallet_id": "wal_missing", "amount": "5", "payment_method": "tok_visa",
                                       "idempotency_key": "tu1"})["code"] == "not_found"
    declined = mcp.ok("top_up_wallet", {"wallet_id": wallet["id"], "amount": "5",
                                        "payment_method": "tok_decline_generic", "idempotency_key": "tu2"})
    assert (declined["status"], declined["failure_code"]) == ("failed", "card_declined")
    assert mcp.ok("get_wallet_balance", {"wallet_id": wallet["id"]})["balance"] == "0.00"
    assert mcp.error("top_up_wallet", {"wallet_id": wallet["id"], "amount": "5.001", "payment_method": "tok_visa",
                                       "idempotency_key": "tu3"})["code"] == "amount_too_precise"


def test_top_up_above_threshold_is_held_in_the_wallets_currency(mcp, customer_id):
    gateway_services.threshold_save(
        actor=Actor.system("tests"), api_key=mcp.api_key, operation="top_up_wallet", currency="USD", amount="100")
    wallet = mcp.ok("create_wallet", {"customer_id": customer_id, "currency": "USD", "idempotency_key": "hw"})
    held = mcp.ok("top_up_wallet", {"wallet_id": wallet["id"], "amount": "150", "payment_method": "tok_visa",
                                    "idempotency_key": "h1"})
    assert (held["status"], held["amount"], held["currency"]) == ("pending_approval", "150.00", "USD")
    small = mcp.ok("top_up_wallet", {"wallet_id": wallet["id"], "amount": "100", "payment_method": "tok_visa",
                                     "idempotency_key": "h2"})
    assert small["status"] == "succeeded"
    assert mcp.ok("get_wallet_balance", {"wallet_id": wallet["id"]})["balance"] == "100.00"


def test_capture_without_amount_is_held_by_a_capture_threshold(mcp, customer_id):
    gateway_services.threshold_save(
        actor=Actor.system("tests"), api_key=None, operation="capture_payment", currency="USD", amount="1000")
    payment = _pay(mcp, customer_id, "cap", capture_method="manual")
    held = mcp.ok("capture_payment", {"payment_id": payment["id"], "idempotency_key": "cap1"})
    assert (held["status"], held["amount"], held["currency"]) == ("pending_approval", None, "USD")
    explicit = mcp.ok("capture_payment", {"payment_id": payment["id"], "amount": "100", "idempotency_key": "cap2"})
    assert explicit["status"] == "succeeded"


ISSUE_TOOLS = ["create_customer", "get_customer", "create_payment", "get_payment_status", "verify_payment",
               "capture_payment", "cancel_payment", "refund_payment", "list_payments", "create_wallet",
               "get_wallet_balance", "top_up_wallet", "transfer_funds", "wallet_transaction_history",
               "get_approval_status"]


def test_the_issue_tools_exist_with_their_argument_names(mcp):
    from mcp_gateway import registry

    assert set(ISSUE_TOOLS) <= set(mcp.tool_names())

    def props(name):
        return set(registry.get_tool(name).input_schema["properties"])

    assert {"amount", "currency", "customer_id", "method", "payment_method", "capture_method", "description",
            "metadata", "idempotency_key"} <= props("create_payment")
    assert {"payment_id", "amount", "reason", "idempotency_key"} <= props("refund_payment")
    assert {"wallet_id", "customer_id", "currency"} == props("get_wallet_balance")
    # transfer_funds is destructive (approvable), so it also takes dry_run.
    assert {"from_wallet_id", "to_wallet_id", "amount", "currency", "description", "idempotency_key",
            "dry_run"} == props("transfer_funds")
    assert {"wallet_id", "amount", "payment_method", "idempotency_key"} == props("top_up_wallet")
    assert {"wallet_id", "start_date", "end_date", "limit", "cursor"} <= props("wallet_transaction_history")
    for name in ISSUE_TOOLS:
        tool = registry.get_tool(name)
        if tool.writes:
            assert "idempotency_key" in tool.input_schema["required"], name
