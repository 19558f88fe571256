"""The Python SDK client (mcp 2.x) runs the money tools against a live server with a real API
key, in auto (modern), legacy and pinned-modern modes."""

import pytest

from .interop import sdk_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25"),
                                               ("2026-07-28", "2026-07-28")])
def test_sdk_client_customer_payment_capture_refund_top_up_transfer(live_server, make_key, settings, mode, version):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    created = make_key("*")

    async def script(client):
        async def ok(tool, args):
            result = await client.call_tool(tool, {**args, **({"idempotency_key": f"{mode}-{tool}-{len(seen)}"}
                                                               if tool not in READS else {})})
            seen.append(tool)
            assert result.is_error is False, (tool, result.structured_content)
            return result.structured_content

        seen: list[str] = []
        tools = {t.name for t in (await client.list_tools()).tools}
        payer = await ok("create_customer", {"email": f"{mode}-payer@example.com"})
        payee = await ok("create_customer", {"email": f"{mode}-payee@example.com"})
        # Verified: the flow, not KYC limits, is under test (transfers of unverified payers are limited).
        await ok("update_customer_kyc", {"customer_id": payer["id"], "status": "verified", "note": "test payer"})
        payment = await ok("create_payment", {"amount": "120.00", "currency": "USD", "customer_id": payer["id"],
                                              "payment_method": "tok_visa", "capture_method": "manual"})
        captured = await ok("capture_payment", {"payment_id": payment["id"]})
        refund = await ok("refund_payment", {"payment_id": payment["id"], "amount": "20.50",
                                             "reason": "requested_by_customer"})
        status = await ok("get_payment_status", {"payment_id": payment["id"]})
        source = await ok("create_wallet", {"customer_id": payer["id"], "currency": "USD"})
        target = await ok("create_wallet", {"customer_id": payee["id"], "currency": "USD"})
        top_up = await ok("top_up_wallet", {"wallet_id": source["id"], "amount": "75", "payment_method": "tok_visa"})
        transfer = await ok("transfer_funds", {"from_wallet_id": source["id"], "to_wallet_id": target["id"],
                                               "amount": "25.00", "currency": "USD"})
        balances = [await ok("get_wallet_balance", {"wallet_id": w["id"]}) for w in (source, target)]
        history = await ok("wallet_transaction_history", {"wallet_id": source["id"]})
        return (client.protocol_version, tools, captured, refund, status, top_up, transfer, balances, history)

    protocol, tools, captured, refund, status, top_up, transfer, balances, history = sdk_session(
        f"{live_server.url}/mcp/", created.raw_key, mode, script)
    assert protocol == version
    assert READS | WRITES <= tools
    assert (captured["status"], captured["amount_captured"]) == ("succeeded", "120.00")
    assert (refund["amount"], refund["currency"]) == ("20.50", "USD")
    assert status["amount_refunded"] == "20.50"
    assert top_up["status"] == "succeeded" and transfer["amount"] == "25.00"
    assert [b["balance"] for b in balances] == ["50.00", "25.00"]
    assert [t["amount"] for t in history["data"]] == ["-25.00", "75.00"]


READS = {"get_payment_status", "get_wallet_balance", "wallet_transaction_history", "list_payments"}
WRITES = {"create_customer", "create_payment", "capture_payment", "refund_payment", "create_wallet", "top_up_wallet",
          "transfer_funds", "cancel_payment", "verify_payment"}
