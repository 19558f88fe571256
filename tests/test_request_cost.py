"""What one request costs the database through the doors (issue 12), pinned so it cannot creep back.

A REST transfer: at most 8 statements and 1 commit (issue 12), plus the one INSERT of its event
(issue 13, which the issue allows): the key, its permissions and the approval thresholds come from
the cache, the idempotency record is taken and written in the effect's transaction. An MCP
`create_payment`: at most 4 commits. Measured with a warm cache (the key's first request reads it).

Raising a count here must come with the reason in the same commit (issue 12's rule)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.mcp.conftest import McpClient
from tests.statements import commits, names, written

pytestmark = pytest.mark.django_db(transaction=True)

# The statements of one REST transfer with an Idempotency-Key, in order.
TRANSFER = {
    # The wallets are read without their locks; the ledger's write (which takes them and checks what it was built
    # from: ledger.post_entry_guarded), the audit event and event are held to the end of the transaction and written
    # with the idempotency record in one statement (core.heldrows): the wallets and accounts are locked for that one
    # round trip and the commit.
    "postgresql": ["BEGIN", "lock+read", "SELECT wallets_wallet", "WITH wallets_wallet", "COMMIT"],
    # The quick start's SQLite: no advisory lock (its IMMEDIATE transactions serialise writers) and the
    # ledger write as separate statements (no data-modifying CTEs there).
    "sqlite": ["BEGIN", "SELECT core_idempotencyrecord", "SELECT wallets_wallet", "INSERT wallets_journalentry",
               "INSERT wallets_posting", "UPDATE wallets_ledgeraccount", "INSERT core_auditevent",
               "INSERT core_event", "INSERT core_idempotencyrecord", "COMMIT"],
}

# One MCP create_payment (sandbox card, automatic capture), on PostgreSQL: 4 commits (the lease with the
# payment; the sandbox's own record; the provider's answer applied; the outcome with the tool-call log). The
# payment, its attempt, audit event and event go in one statement (rawrows.insert_together), as do the
# capture's ledger write, the payment's update, its audit event and event (core.heldrows), as do the record's
# completion and the tool-call log row.
CREATE_PAYMENT = [
    "SELECT core_idempotencyrecord", "SELECT accounts_customer",
    "BEGIN", "INSERT core_idempotencyrecord", "WITH payments_payment", "COMMIT",
    "BEGIN", "INSERT payments_sandboxcharge", "COMMIT",
    "BEGIN", "SELECT payments_payment", "SELECT wallets_journalentry", "WITH wallets_journalentry", "COMMIT",
    "BEGIN", "WITH mcp_gateway_toolcall", "COMMIT",
]


@pytest.fixture(autouse=True)
def _sandbox(one_sandbox):
    return one_sandbox


def _transfer(api, source, target, key):
    response = api.post("/api/v1/transfers", {"from_wallet_id": source.pk, "to_wallet_id": target.pk,
                                              "amount": "2.50", "currency": "USD"},
                        format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    return response


def test_a_rest_transfer_is_one_transaction_of_eight_statements_with_its_event(api, make_wallet):
    source, target = make_wallet(balance=10_000), make_wallet()
    _transfer(api, source, target, "warm")
    with CaptureQueriesContext(connection) as queries:
        _transfer(api, source, target, "measured")
    sent = names(queries)
    assert len(commits(queries)) == 1
    assert sent == TRANSFER[connection.vendor]
    # Every row the transfer adds, and in which statement (the ledger's and the held ones combined on PostgreSQL).
    writes = [written(q["sql"]) for q in queries.captured_queries if written(q["sql"])]
    assert writes == ([["wallets_ledgeraccount", "wallets_journalentry", "wallets_posting", "core_auditevent",
                        "core_event", "core_idempotencyrecord"]]
                      if connection.vendor == "postgresql" else
                      [["wallets_journalentry"], ["wallets_posting"], ["wallets_ledgeraccount"], ["core_auditevent"],
                       ["core_event"], ["core_idempotencyrecord"]])
    assert len(TRANSFER["postgresql"]) <= 9  # 8 (issue 12) + the event row (issue 13)
    assert not any(name.split(" ")[-1] in ("accounts_apikey", "auth_permission", "mcp_gateway_approvalthreshold",
                                           "mcp_gateway_approvalrequest") for name in sent)


# One REST withdrawal: the wallet read without its lock (its currency, which the door needs to read the amount, kept
# by the process: wallets.selectors.wallet_currency), and the statement that writes locks the wallet, then the
# wallet's and the provider clearing account (its id kept by the process: ledger.system_account_ref) and checks what
# the build relied on (ledger.post_entry_guarded). It was 8 statements on PostgreSQL while it locked first (the door's
# read, the wallet's lock, the clearing account's read, both accounts' lock), holding the clearing account, which
# every card capture in the currency writes too, from its lock to the commit.
WITHDRAWAL = {
    "postgresql": ["BEGIN", "lock+read", "SELECT wallets_wallet", "WITH wallets_wallet", "COMMIT"],
    "sqlite": ["BEGIN", "SELECT core_idempotencyrecord", "SELECT wallets_wallet", "SELECT wallets_ledgeraccount",
               "SELECT wallets_ledgeraccount", "INSERT wallets_journalentry", "INSERT wallets_posting",
               "UPDATE wallets_ledgeraccount", "INSERT core_auditevent", "INSERT core_event",
               "INSERT core_idempotencyrecord", "COMMIT"],
}


def test_a_rest_withdrawal_is_one_transaction_of_a_transfers_statements(api, make_wallet):
    wallet = make_wallet(balance=10_000)

    def withdraw(key):
        response = api.post(f"/api/v1/wallets/{wallet.pk}/withdrawals", {"amount": "2.50"}, format="json",
                            HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 201, response.content

    withdraw("warm")
    with CaptureQueriesContext(connection) as queries:
        withdraw("measured")
    assert len(commits(queries)) == 1
    assert names(queries) == WITHDRAWAL[connection.vendor]
    if connection.vendor == "postgresql":
        assert [written(q["sql"]) for q in queries.captured_queries if written(q["sql"])] == [
            ["wallets_ledgeraccount", "wallets_journalentry", "wallets_posting", "core_auditevent", "core_event",
             "core_idempotencyrecord"]]


def test_a_replayed_rest_transfer_reads_its_record_and_writes_nothing(api, make_wallet):
    source, target = make_wallet(balance=10_000), make_wallet()
    first = _transfer(api, source, target, "same")
    with CaptureQueriesContext(connection) as queries:
        again = api.post("/api/v1/transfers", {"from_wallet_id": source.pk, "to_wallet_id": target.pk,
                                               "amount": "2.50", "currency": "USD"},
                         format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, first.json(), "true")
    assert [n for n in names(queries) if n.startswith(("INSERT", "UPDATE", "WITH", "DELETE"))] == []


def test_an_mcp_create_payment_commits_four_times_and_reads_no_settings(roles, make_key):
    mcp = McpClient(make_key("*").raw_key)
    customer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "cust"})["id"]
    args = {"amount": "100.00", "currency": "USD", "customer_id": customer, "payment_method": "tok_visa"}
    mcp.ok("create_payment", {**args, "idempotency_key": "warm"})
    with CaptureQueriesContext(connection) as queries:
        payment = mcp.ok("create_payment", {**args, "idempotency_key": "measured"})
    assert payment["status"] == "succeeded"
    assert len(commits(queries)) == 4
    if connection.vendor == "postgresql":
        assert names(queries) == CREATE_PAYMENT
        # The settlement's last statement also updates the attempt and the provider stats row that every payment of
        # the provider shares: locked there, after the payment and the accounts, not from the settlement's start.
        stats = [q["sql"] for q in queries.captured_queries if "payments_providerstat" in written(q["sql"])]
        assert len(stats) == 1
        assert written(stats[0]) == ["wallets_journalentry", "wallets_posting", "wallets_ledgeraccount",
                                   "payments_payment", "payments_paymentattempt", "payments_providerstat",
                                   "core_auditevent", "core_event"]
    assert not any(name.split(" ")[-1] in ("accounts_apikey", "auth_permission") for name in names(queries))


@pytest.mark.postgres
def test_every_statement_of_an_mcp_payment_fits_psycopgs_parse_cache(roles, make_key):
    """psycopg keeps the parsed placeholders of statements within its limits (core.pgbinding raises them): a
    statement beyond them is parsed again on every payment."""
    from psycopg import _queries

    from core.pgbinding import CACHED_STATEMENT_LENGTH, CACHED_STATEMENT_PARAMS

    mcp = McpClient(make_key("*").raw_key)
    customer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "cust"})["id"]
    args = {"amount": "100.00", "currency": "USD", "customer_id": customer, "payment_method": "tok_visa"}
    mcp.ok("create_payment", {**args, "idempotency_key": "warm"})
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((len(sql.encode()), len(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert mcp.ok("create_payment", {**args, "idempotency_key": "measured"})["status"] == "succeeded"
    assert (_queries.MAX_CACHED_STATEMENT_LENGTH, _queries.MAX_CACHED_STATEMENT_PARAMS) == (
        CACHED_STATEMENT_LENGTH, CACHED_STATEMENT_PARAMS)
    assert len(sent) == 9
    assert max(length for length, _ in sent) <= CACHED_STATEMENT_LENGTH
    assert max(params for _, params in sent) <= CACHED_STATEMENT_PARAMS
    assert max(params for _, params in sent) > 50  # the payment's rows written together: why the limit is raised
