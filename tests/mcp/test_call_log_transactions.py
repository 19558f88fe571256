"""The tool-call log costs no transaction of its own where the call has one (issue 12): a write's log
row commits with the write's outcome (the effect's transaction, the refusal's, the lease's
completion); a read, a refusal before the write and a replay without a transaction log in one
auto-committed INSERT. A `create_payment` commits 4 times in all."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mcp_gateway.models import ToolCall
from tests.statements import commits, lock_read, names, written

from .conftest import McpClient

pytestmark = pytest.mark.django_db(transaction=True)

LOGGED_IN_TRANSACTION = ["SAVEPOINT", "INSERT mcp_gateway_toolcall", "RELEASE"]


@pytest.fixture
def mcp(roles, make_key):
    client = McpClient(make_key("*").raw_key)
    client.rpc("tools/list")  # the key's first use stamps its last_used_at (the auth's write, not counted here)
    return client


def _logged(tool):
    return list(ToolCall.objects.filter(tool=tool).values_list("outcome", "error_code", "idempotency_key"))


def test_a_db_write_logs_in_its_own_transaction_and_so_does_its_replay(mcp):
    args = {"email": "a@example.com", "idempotency_key": "c1"}
    with CaptureQueriesContext(connection) as queries:
        mcp.ok("create_customer", args)
    [unit] = commits(queries)
    # On PostgreSQL the record goes in one statement with the customer's audit event (core.heldrows).
    record = "WITH core_auditevent" if connection.vendor == "postgresql" else "INSERT core_idempotencyrecord"
    assert unit[-4:] == [record, *LOGGED_IN_TRANSACTION]
    assert "core_idempotencyrecord" in written([q["sql"] for q in queries.captured_queries][-5])
    with CaptureQueriesContext(connection) as queries:
        mcp.ok("create_customer", args)
    assert commits(queries) == [[lock_read(), *LOGGED_IN_TRANSACTION]]
    assert _logged("create_customer") == [("success", "", "c1"), ("success", "", "c1")]


def test_a_stored_refusal_logs_in_the_transaction_that_records_it(mcp, make_wallet):
    source, target = make_wallet(balance=100), make_wallet()
    args = {"from_wallet_id": source.pk, "to_wallet_id": target.pk, "amount": "5.00", "currency": "USD",
            "idempotency_key": "t1"}
    with CaptureQueriesContext(connection) as queries:
        assert mcp.error("transfer_funds", args)["code"] == "insufficient_funds"
    assert commits(queries) == [[lock_read(), "INSERT core_idempotencyrecord", *LOGGED_IN_TRANSACTION]]
    assert _logged("transfer_funds") == [("error", "insufficient_funds", "t1")]


def test_a_read_and_a_refusal_before_the_write_log_in_one_statement(mcp):
    with CaptureQueriesContext(connection) as queries:
        assert mcp.error("get_customer", {"customer_id": "cus_missing"})["code"] == "not_found"
    assert commits(queries) == [["INSERT mcp_gateway_toolcall"]]
    assert "BEGIN" not in names(queries)
    with CaptureQueriesContext(connection) as queries:
        assert mcp.error("create_customer", {"email": 5, "idempotency_key": "c2"})["code"] == "validation_error"
    assert commits(queries) == [["INSERT mcp_gateway_toolcall"]]
    assert _logged("get_customer") == [("error", "not_found", "")]
    assert _logged("create_customer") == [("invalid_params", "validation_error", "")]


def test_create_payment_commits_four_times_with_the_lease_in_the_first_and_the_log_in_the_last(mcp, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    customer_id = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "c"})["id"]
    args = {"amount": "10.00", "currency": "USD", "customer_id": customer_id, "payment_method": "tok_visa"}
    mcp.ok("create_payment", {**args, "idempotency_key": "warm"})  # system accounts, fee rows, provider stats
    with CaptureQueriesContext(connection) as queries:
        payment = mcp.ok("create_payment", {**args, "idempotency_key": "p1"})
    assert payment["status"] == "succeeded"
    units = commits(queries)
    # The lease and the payment; the provider (the sandbox keeps its charges in the database); the
    # provider's answer applied; the idempotency record completed with the call's log row.
    assert len(units) == 4, units
    # On PostgreSQL the payment goes with its attempt, audit event and event in one statement (insert_together).
    assert units[0][:2] == ["INSERT core_idempotencyrecord",
                            "WITH payments_payment" if connection.vendor == "postgresql" else "INSERT payments_payment"]
    assert units[1] == ["INSERT payments_sandboxcharge"]
    # On PostgreSQL the record's completion and the log row are one statement (core.heldrows: the row held as
    # optional, so a failure of its own records the outcome again without it; tests/mcp/test_call_log_rows.py).
    if connection.vendor == "postgresql":
        assert units[3] == ["WITH mcp_gateway_toolcall"]
        assert written([q["sql"] for q in queries.captured_queries][-2]) == ["core_idempotencyrecord",
                                                                             "mcp_gateway_toolcall"]
    else:
        assert units[3] == ["UPDATE core_idempotencyrecord", "INSERT mcp_gateway_toolcall"]
    with CaptureQueriesContext(connection) as queries:
        assert mcp.ok("create_payment", {**args, "idempotency_key": "p1"}) == payment
    assert commits(queries) == [["INSERT mcp_gateway_toolcall"]]
    assert _logged("create_payment") == [("success", "", "p1"), ("success", "", "p1"), ("success", "", "warm")]
