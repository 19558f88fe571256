"""An MCP call is authorised once: the gateway checks the scope and permission before it reads the
arguments, and `core.operations` does not check them again (REST checks them once too)."""

from collections import Counter

import pytest

from accounts.models import User
from core import operations

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_sandbox")]


@pytest.fixture
def checks(monkeypatch):
    """Every scope check and permission check made, by what it required."""
    made: Counter = Counter()
    scope_allows, has_perm = operations.scope_allows, User.has_perm

    def counted_scope(granted, required):
        made[required] += 1
        return scope_allows(granted, required)

    def counted_perm(self, perm, obj=None):
        made[perm] += 1
        return has_perm(self, perm, obj)

    monkeypatch.setattr(operations, "scope_allows", counted_scope)
    monkeypatch.setattr(User, "has_perm", counted_perm)
    return made


@pytest.fixture
def payment(mcp):
    customer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "cust"})["id"]
    return mcp.ok("create_payment", {"amount": "90.00", "currency": "usd", "customer_id": customer,
                                     "payment_method": "tok_visa", "idempotency_key": "p"})


def test_a_tool_call_checks_scope_and_permission_once(mcp, payment, checks):
    refund = mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "10", "idempotency_key": "r"})
    assert refund["amount"] == "10.00"
    assert (checks["payments:write"], checks["payments.refund_payment"]) == (1, 1)


def test_a_dry_run_checks_scope_and_permission_once(mcp, payment, checks):
    preview = mcp.ok("refund_payment", {"payment_id": payment["id"], "amount": "10", "idempotency_key": "d",
                                        "dry_run": True})
    assert preview["target"]["id"] == payment["id"]
    assert (checks["payments:write"], checks["payments.refund_payment"]) == (1, 1)
    # Reading the target is a call of its own read operation, authorised as such, once.
    assert (checks["payments:read"], checks["payments.view_payment"]) == (1, 1)


def test_a_refused_call_is_refused_before_its_arguments_are_read(mcp_for, payment, checks):
    reader = mcp_for("payments:read")
    error = reader.error("refund_payment", {"payment_id": payment["id"], "amount": "not money", "idempotency_key": "x"})
    assert error["code"] == "insufficient_scope"
    assert checks["payments:write"] == 1 and checks["payments.refund_payment"] == 0


def test_a_rest_call_checks_scope_and_permission_once(api, payment, checks):
    response = api.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": "10"}, format="json")
    assert response.status_code == 201, response.content
    assert (checks["payments:write"], checks["payments.refund_payment"]) == (1, 1)
