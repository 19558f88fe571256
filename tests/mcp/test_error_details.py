"""The MCP door shows a refusal's amounts as REST does: decimal strings next to `currency`,
wallets by public id, no ledger row ids."""

import pytest

pytestmark = pytest.mark.django_db


def test_transfer_beyond_the_balance(mcp):
    payer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "c1"})["id"]
    payee = mcp.ok("create_customer", {"email": "payee@example.com", "idempotency_key": "c2"})["id"]
    first = mcp.ok("create_wallet", {"customer_id": payer, "currency": "USD", "idempotency_key": "w1"})
    second = mcp.ok("create_wallet", {"customer_id": payee, "currency": "USD", "idempotency_key": "w2"})
    mcp.ok("adjust_wallet", {"wallet_id": first["id"], "amount": "20.00", "reason": "opening balance",
                             "idempotency_key": "a1"})
    refused = mcp.error("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                           "amount": "500.00", "currency": "USD", "idempotency_key": "t1"})
    assert (refused["code"], refused["details"]) == ("insufficient_funds", {
        "wallet_id": first["id"], "available": "20.00", "amount": "500.00", "currency": "USD"})
