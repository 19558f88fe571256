"""A transfer in a transaction of its own is built from the wallets read without their locks and written by one
statement that takes the locks and checks what it was built from (ledger.post_entry_guarded). Proven here on
PostgreSQL with real transactions and threads: the rows it writes hold the balances as locked, a change between the
read and the write makes the transaction run again under the lock (refusing exactly as the locked path does, with
nothing of the first attempt left), and busy wallets queue without deadlocks."""

import logging
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.context import Actor
from core.db import guarded_writes_allowed, run_in_transaction
from core.models import AuditEvent, Event, IdempotencyRecord
from core.rawrows import GuardFailed
from tests.concurrency import failures, run_threads
from tests.wallets.guarding import (
    assert_refused_after_one_retry,
    balance,
    drain,
    interfere_after_the_read,
    retries,
)
from wallets import services
from wallets.audit import WalletsAction
from wallets.events import WalletsEvent
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.selectors.verify import ledger_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("guarded-test")


def test_only_the_first_attempt_of_a_transaction_its_owner_retries_may_guard():
    assert guarded_writes_allowed() is False  # no transaction
    seen = []

    def first_refused():
        seen.append(guarded_writes_allowed())
        if len(seen) == 1:
            raise GuardFailed("changed since read")
        return list(seen)

    assert run_in_transaction(first_refused) == [True, False]
    assert guarded_writes_allowed() is False  # reset once the owner is done


def test_a_refused_guard_is_retried_at_once_and_a_deadlock_after_a_pause(monkeypatch):
    from django.db import OperationalError

    import core.db

    class Deadlock(OperationalError):
        sqlstate = "40P01"

    pauses = []
    monkeypatch.setattr(core.db.time, "sleep", pauses.append)
    for error in (GuardFailed("changed since read"), Deadlock("deadlock detected")):
        attempts = []

        def fails_once(error=error, attempts=attempts):
            attempts.append(1)
            if len(attempts) == 1:
                raise error
            return len(attempts)

        assert run_in_transaction(fails_once) == 2
    assert len(pauses) == 1 and 0.001 <= pauses[0] <= 0.01  # the deadlock's only


def test_the_guarded_statement_locks_checks_and_writes_the_balances_as_locked(make_wallet, caplog):
    source, target = make_wallet(balance=10_000), make_wallet(balance=500)
    with CaptureQueriesContext(connection) as queries:
        entry = services.wallet_transfer(actor=ACTOR, from_wallet_id=source.pk, to_wallet_id=target.pk, amount=2_500,
                                         currency="USD")
    statements = [q["sql"] for q in queries.captured_queries]
    locking = [sql for sql in statements if "FOR UPDATE" in sql]
    # One statement locks, and it is the one that writes: the read before it takes no lock.
    assert len(locking) == 1 and locking[0].startswith("WITH") and "UPDATE" in locking[0].split("FOR UPDATE")[-1]
    assert (balance(source), balance(target)) == (7_500, 3_000)
    rows = list(Posting.objects.filter(entry_id=entry.pk).order_by("id").values_list("account_id", "amount",
                                                                                    "balance_after"))
    assert rows == [(source.account_id, -2_500, 7_500), (target.account_id, 2_500, 3_000)]
    assert LedgerAccount.objects.get(pk=target.account_id).version == target.account.version + 1
    assert retries(caplog) == []
    assert ledger_verify().problems == []


def test_the_gate_is_judged_once_before_the_update_touches_a_row(make_wallet):
    source, target = make_wallet(balance=10_000), make_wallet()
    with CaptureQueriesContext(connection) as queries:
        services.wallet_transfer(actor=ACTOR, from_wallet_id=source.pk, to_wallet_id=target.pk, amount=1,
                                 currency="USD")
    [statement] = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (COSTS OFF) " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The update runs under a one-time filter on the gate, whose input is the locking scan (in account id order).
    update = plan[plan.index("Update on wallets_ledgeraccount"):]
    assert "One-Time Filter" in update and "LockRows" in plan[:plan.index("Update on wallets_ledgeraccount")]


@pytest.mark.parametrize("change, status, code", [
    ("drain", 422, "insufficient_funds"),
    ("freeze_source", 409, "wallet_frozen"),
    ("freeze_target", 409, "wallet_frozen"),
    ("limit_source", 422, "limit_exceeded"),
])
def test_a_change_between_the_read_and_the_write_runs_the_transfer_again_under_the_lock(
        change, status, code, api, make_wallet, monkeypatch, caplog):
    source, target, sink = make_wallet(balance=10_000), make_wallet(balance=0), make_wallet()
    changes = {
        "drain": drain(source, sink, ACTOR),
        "freeze_source": lambda: services.wallet_freeze(actor=ACTOR, wallet_id=source.pk, reason="test"),
        "freeze_target": lambda: services.wallet_freeze(actor=ACTOR, wallet_id=target.pk, reason="test"),
        "limit_source": lambda: services.wallet_set_daily_limit(actor=ACTOR, wallet_id=source.pk, daily_limit=1_000),
    }
    reads = interfere_after_the_read(monkeypatch, changes[change])
    entries, audits = JournalEntry.objects.count(), AuditEvent.objects.count()
    events = set(Event.objects.values_list("pk", flat=True))
    caplog.set_level(logging.WARNING, logger="core.db")
    response = api.post("/api/v1/transfers", {"from_wallet_id": source.pk, "to_wallet_id": target.pk,
                                              "amount": "50.00", "currency": "USD"},
                        format="json", HTTP_IDEMPOTENCY_KEY=f"guard-{change}")
    drained = 1 if change == "drain" else 0
    assert_refused_after_one_retry(response, status, code, drained=drained, reads=reads, caplog=caplog)
    assert JournalEntry.objects.count() == entries + drained
    assert JournalEntry.objects.filter(kind="transfer", metadata__to_wallet_id=target.pk).count() == 0
    assert balance(target) == 0
    assert balance(source) == (100 if change == "drain" else 10_000)
    # The interfering change's own rows only (a drain is a transfer; a freeze or limit, an audit event).
    assert AuditEvent.objects.filter(action=WalletsAction.WALLET_TRANSFERRED, object_id=source.pk).count() == drained
    assert AuditEvent.objects.count() - audits == 1
    new_events = list(Event.objects.exclude(pk__in=events).values_list("type", flat=True))
    assert new_events.count(WalletsEvent.TRANSFER_CREATED) == drained and len(new_events) <= 1
    record = IdempotencyRecord.objects.get(key=f"guard-{change}")
    assert (record.response_status, record.response_body["error"]["code"]) == (status, code)
    again = api.post("/api/v1/transfers", {"from_wallet_id": source.pk, "to_wallet_id": target.pk,
                                           "amount": "50.00", "currency": "USD"},
                     format="json", HTTP_IDEMPOTENCY_KEY=f"guard-{change}")
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (status, response.json(), "true")
    assert ledger_verify().problems == []


def test_a_concurrent_credit_between_the_read_and_the_write_is_counted_in_balance_after(make_wallet, monkeypatch,
                                                                                        caplog):
    source, target, other = make_wallet(balance=10_000), make_wallet(balance=1_000), make_wallet(balance=10_000)
    interfere_after_the_read(monkeypatch, lambda: services.wallet_transfer(
        actor=ACTOR, from_wallet_id=other.pk, to_wallet_id=target.pk, amount=300, currency="USD"))
    caplog.set_level(logging.WARNING, logger="core.db")
    entry = services.wallet_transfer(actor=ACTOR, from_wallet_id=source.pk, to_wallet_id=target.pk, amount=200,
                                     currency="USD")
    # Read at 1,000; the other transfer made it 1,300 before this one locked it: no retry, the true balance.
    assert retries(caplog) == []
    assert Posting.objects.get(entry_id=entry.pk, account_id=target.account_id).balance_after == 1_500
    assert balance(target) == 1_500
    assert ledger_verify().problems == []


def test_many_threads_into_one_wallet_and_across_a_pair_queue_without_deadlocks_or_retries(make_wallet, caplog):
    hot = make_wallet(balance=0)
    sources = [make_wallet(balance=100_000) for _ in range(8)]
    pair = [make_wallet(balance=100_000), make_wallet(balance=100_000)]
    caplog.set_level(logging.WARNING, logger="core.db")
    lock = threading.Lock()
    done = []

    def worker(i):
        for n in range(40):
            if i % 4 == 3:  # opposite directions across one pair, at the same time as the rest
                a, b = (pair[0], pair[1]) if (i // 4 + n) % 2 == 0 else (pair[1], pair[0])
            else:
                a, b = sources[i], hot
            entry = services.wallet_transfer(actor=ACTOR, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=n + 1,
                                             currency="USD")
            with lock:
                done.append(entry.pk)

    assert not (errors := failures(run_threads(8, worker))), errors[:3]
    assert len(done) == 320
    assert retries(caplog) == []  # a deadlock or a refusing guard would have been retried
    into_hot = 6 * sum(range(1, 41))
    assert balance(hot) == into_hot
    # Each credit's balance_after continues the previous one's in posting id order, which the history's order is
    # (wallets.selectors.history): the id is drawn under the account's lock, so ids follow the locks' order.
    for wallet in [hot, *sources, *pair]:
        chain = Posting.objects.filter(account_id=wallet.account_id).order_by("id").values_list("amount",
                                                                                              "balance_after")
        running = 0
        for amount, after in chain:
            running += amount
            assert after == running, wallet.pk
        assert running == balance(wallet)
    assert Posting.objects.filter(account_id=hot.account_id).count() == 6 * 40
    assert sum(balance(w) for w in [*sources, *pair, hot]) == 10 * 100_000
    assert ledger_verify().problems == []


def test_an_agents_transfer_over_mcp_is_guarded_and_a_refusing_guard_is_one_logged_refusal(make_key, make_wallet,
                                                                                             monkeypatch, caplog):
    from mcp_gateway.models import ToolCall
    from tests.mcp.conftest import McpClient

    mcp = McpClient(make_key("*").raw_key)
    source, target, sink = make_wallet(balance=10_000), make_wallet(), make_wallet()
    args = {"from_wallet_id": source.pk, "to_wallet_id": target.pk, "amount": "10.00", "currency": "USD"}
    with CaptureQueriesContext(connection) as queries:
        sent = mcp.ok("transfer_funds", {**args, "idempotency_key": "mcp-ok"})
    assert [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]][0].startswith("WITH")
    assert (sent["amount"], balance(source), balance(target)) == ("10.00", 9_000, 1_000)
    interfere_after_the_read(monkeypatch, drain(source, sink, ACTOR))
    caplog.set_level(logging.WARNING, logger="core.db")
    logged = set(ToolCall.objects.values_list("pk", flat=True))
    error = mcp.error("transfer_funds", {**args, "idempotency_key": "mcp-drained"})
    assert (error["code"], error["details"]["available"]) == ("insufficient_funds", "1.00")
    assert len(retries(caplog)) == 1
    assert (balance(source), balance(target)) == (100, 1_000)
    assert list(ToolCall.objects.exclude(pk__in=logged).values_list("tool", "outcome", "error_code")) == [
        ("transfer_funds", "error", "insufficient_funds")]
    assert ledger_verify().problems == []
