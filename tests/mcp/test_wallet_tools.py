"""The wallets tools through the HTTP endpoint: success, domain errors, bad arguments, missing
scope, dry runs; outputs validated against their schemas by the client helper."""

import datetime as dt

import pytest
import time_machine

from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_wallets(mcp):
    payer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "c1"})["id"]
    payee = mcp.ok("create_customer", {"email": "payee@example.com", "idempotency_key": "c2"})["id"]
    first = mcp.ok("create_wallet", {"customer_id": payer, "currency": "usd", "idempotency_key": "w1"})
    second = mcp.ok("create_wallet", {"customer_id": payee, "currency": "USD", "idempotency_key": "w2"})
    mcp.ok("adjust_wallet", {"wallet_id": first["id"], "amount": "50.00", "reason": "opening balance",
                             "idempotency_key": "a1"})
    return payer, first, second


def test_create_wallet_and_balance_both_ways(mcp, two_wallets):
    payer, first, _ = two_wallets
    assert first["id"].startswith("wal_")
    assert (first["object"], first["customer_id"], first["currency"], first["balance"], first["status"]) == (
        "wallet", payer, "USD", "0.00", "active")
    by_id = mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})
    assert (by_id["balance"], by_id["available_balance"]) == ("50.00", "50.00")
    assert mcp.ok("get_wallet_balance", {"customer_id": payer, "currency": "usd"}) == by_id
    duplicate = mcp.error("create_wallet", {"customer_id": payer, "currency": "USD", "idempotency_key": "w3"})
    assert duplicate["code"] == "wallet_exists"
    assert Wallet.objects.count() == 2


def test_transfer_and_history(mcp, two_wallets):
    _, first, second = two_wallets
    transfer = mcp.ok("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                         "amount": "20.25", "currency": "USD", "description": "rent",
                                         "idempotency_key": "t1"})
    assert transfer["id"].startswith("txn_")
    assert (transfer["amount"], transfer["currency"], transfer["from_wallet_id"], transfer["to_wallet_id"]) == (
        "20.25", "USD", first["id"], second["id"])
    again = mcp.ok("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                      "amount": "20.25", "currency": "USD", "description": "rent",
                                      "idempotency_key": "t1"})
    assert again == transfer
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "29.75"
    assert mcp.ok("get_wallet_balance", {"wallet_id": second["id"]})["balance"] == "20.25"
    history = mcp.ok("wallet_transaction_history", {"wallet_id": first["id"], "limit": 1})
    assert [t["amount"] for t in history["data"]] == ["-20.25"] and history["has_more"] is True
    rest = mcp.ok("wallet_transaction_history", {"wallet_id": first["id"], "cursor": history["next_cursor"]})
    assert [t["amount"] for t in rest["data"]] == ["50.00"] and rest["has_more"] is False


@pytest.mark.parametrize(("args", "code"), [
    ({"amount": "1000", "currency": "USD"}, "insufficient_funds"),
    ({"amount": "1", "currency": "EUR"}, "currency_mismatch"),
    ({"amount": "1.001", "currency": "USD"}, "amount_too_precise"),
    ({"amount": "-1", "currency": "USD"}, "amount_not_positive"),
    ({"amount": "1", "currency": "USD", "to_wallet_id": "wal_missing"}, "not_found"),
])
def test_transfer_refusals_change_nothing(mcp, two_wallets, args, code):
    _, first, second = two_wallets
    error = mcp.error("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                         "idempotency_key": f"bad-{code}", **args})
    assert error["code"] == code
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "50.00"
    assert mcp.ok("get_wallet_balance", {"wallet_id": second["id"]})["balance"] == "0.00"


def test_wallet_errors_and_bad_arguments(mcp, two_wallets):
    _, first, _ = two_wallets
    assert mcp.error("get_wallet_balance", {"wallet_id": "wal_missing"})["code"] == "not_found"
    assert mcp.error("get_wallet_balance", {"wallet_id": "cus_wrongprefix"})["code"] == "not_found"
    assert mcp.error("wallet_transaction_history", {"wallet_id": "wal_missing"})["code"] == "not_found"
    assert mcp.error("create_wallet", {"customer_id": "cus_missing", "currency": "USD",
                                       "idempotency_key": "x"})["code"] == "not_found"
    assert mcp.error("create_wallet", {"customer_id": first["customer_id"], "currency": "XXX",
                                       "idempotency_key": "y"})["code"] == "unsupported_currency"
    bad = mcp.error("transfer_funds", {"from_wallet_id": first["id"], "amount": 5, "idempotency_key": "z"})
    assert bad["details"]["fields"] == {"to_wallet_id": ["This argument is required."],
                                        "currency": ["This argument is required."]}
    typed = mcp.error("wallet_transaction_history", {"wallet_id": first["id"], "limit": "ten"})
    assert typed["details"]["fields"] == {"limit": ["'ten' is not of type 'integer'"]}


def test_wallet_tools_need_wallet_scopes(mcp_for, two_wallets):
    _, first, second = two_wallets
    payments_only = mcp_for("payments:write")
    assert not {"transfer_funds", "get_wallet_balance", "create_wallet"} & set(payments_only.tool_names())
    assert payments_only.error("get_wallet_balance", {"wallet_id": first["id"]})["code"] == "insufficient_scope"
    reader = mcp_for("wallets:read")
    assert "get_wallet_balance" in reader.tool_names() and "transfer_funds" not in reader.tool_names()
    refused = reader.error("transfer_funds", {"from_wallet_id": first["id"], "to_wallet_id": second["id"],
                                              "amount": "1", "currency": "USD", "idempotency_key": "s"})
    assert refused["details"] == {"required_scope": "wallets:write"}
    assert reader.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "50.00"


def test_close_wallet_dry_run_simulates_without_closing(mcp, two_wallets):
    _, first, second = two_wallets
    refused = mcp.ok("close_wallet", {"wallet_id": first["id"], "idempotency_key": "cl1", "dry_run": True})
    assert (refused["mode"], refused["would_succeed"], refused["error"]["code"]) == (
        "simulated", False, "wallet_not_empty")
    preview = mcp.ok("close_wallet", {"wallet_id": second["id"], "idempotency_key": "cl2", "dry_run": True})
    assert (preview["would_succeed"], preview["result"]["status"]) == (True, "closed")
    assert mcp.ok("get_wallet_balance", {"wallet_id": second["id"]})["status"] == "active"
    closed = mcp.ok("close_wallet", {"wallet_id": second["id"], "idempotency_key": "cl2"})
    assert closed["status"] == "closed"


def test_transfer_above_the_threshold_waits_for_approval_then_runs_once(mcp, two_wallets, make_staff):
    from approvals import services
    from core.context import Actor
    from wallets.models import JournalEntry

    _, first, second = two_wallets
    services.threshold_save(actor=Actor.system("tests"), api_key=None,
                                                       operation="transfer_funds", currency="USD", amount="30.00")
    entries = JournalEntry.objects.count()
    args = {"from_wallet_id": first["id"], "to_wallet_id": second["id"], "amount": "30.01", "currency": "USD",
            "description": "big one", "idempotency_key": "held-1"}
    held = mcp.ok("transfer_funds", args)
    assert (held["status"], held["amount"], held["currency"]) == ("pending_approval", "30.01", "USD")
    assert JournalEntry.objects.count() == entries
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "50.00"
    # At the threshold itself nothing is held.
    small = mcp.ok("transfer_funds", {**args, "amount": "30.00", "idempotency_key": "small-1"})
    assert small["amount"] == "30.00"
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "20.00"

    approver = make_staff("admin")
    done = services.approval_approve(actor=Actor.for_user(approver), approval_id=held["approval_id"],
                                     second_factor_verified=True)
    # The approved call runs through the same service and meets the same rules: 20.00 left, 30.01 asked.
    assert (done.status, done.result_status) == ("executed", 422)
    status = mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})
    assert (status["result"], status["error"]["code"]) == (None, "insufficient_funds")
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "20.00"
    assert JournalEntry.objects.count() == entries + 1


def test_transfer_held_then_approved_moves_the_money_once(mcp, two_wallets, make_staff):
    from approvals import services
    from core.context import Actor

    _, first, second = two_wallets
    services.threshold_save(actor=Actor.system("tests"), api_key=None,
                                                       operation="transfer_funds", currency="USD", amount="10.00")
    args = {"from_wallet_id": first["id"], "to_wallet_id": second["id"], "amount": "40.00", "currency": "USD",
            "description": "approved", "idempotency_key": "held-2"}
    held = mcp.ok("transfer_funds", args)
    services.approval_approve(actor=Actor.for_user(make_staff("admin")), approval_id=held["approval_id"],
                              second_factor_verified=True)
    status = mcp.ok("get_approval_status", {"approval_id": held["approval_id"]})
    assert (status["status"], status["result"]["amount"], status["error"]) == ("executed", "40.00", None)
    assert mcp.ok("transfer_funds", args) == status["result"]
    assert mcp.ok("get_wallet_balance", {"wallet_id": first["id"]})["balance"] == "10.00"
    assert mcp.ok("get_wallet_balance", {"wallet_id": second["id"]})["balance"] == "40.00"


def test_wallet_insights_mean_and_stdev_are_decimal_strings(mcp, make_wallet, actor):
    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(now - dt.timedelta(days=70), tick=False):
        a, b = make_wallet("USD", balance=100_000), make_wallet("USD")
    for i, amount in enumerate([1000, 3000] * 6):
        with time_machine.travel(now - dt.timedelta(days=45 - i), tick=False):
            services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=amount,
                                     currency="USD")
    with time_machine.travel(now, tick=False):
        info = mcp.ok("wallet_insights", {"wallet_id": a.pk})["anomaly_detection"]
    assert (info["baseline_count"], info["mean"], info["stdev"]) == (12, "20.00", "10.00")
