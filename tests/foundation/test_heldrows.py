"""core.heldrows: a keyed write's audit events and events are held to the end of its transaction and written
with its idempotency record; held only where that cannot change what the transaction does."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from core import heldrows
from core.audit import audit_record
from core.context import Actor
from core.errors import BusinessRefusal
from core.events import emit
from core.idempotency import WriteResult, execute_write
from core.models import AuditEvent, Event, IdempotencyRecord
from tests.statements import lock_read, names, written
from wallets.audit import WalletsAction
from wallets.events import WalletsEvent

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor.system("tests")


def _audit(object_id: str) -> AuditEvent:
    return audit_record(action=WalletsAction.WALLET_CREATED, actor=ACTOR, object_type="wallets.wallet",
                        object_id=object_id)


def _audited() -> list[str]:
    return list(AuditEvent.objects.order_by("object_id").values_list("object_id", flat=True))


def test_held_rows_are_written_at_the_end_of_the_block_and_nothing_before():
    with transaction.atomic():
        with CaptureQueriesContext(connection) as during, heldrows.holding():
            _audit("a")
            _audit("b")
            assert AuditEvent.objects.count() == 0  # held: not written yet
            during_block = len(during.captured_queries)
        assert _audited() == ["a", "b"]
    assert during_block == 1  # the count above, nothing else
    assert _audited() == ["a", "b"]


def test_a_keyed_write_sends_its_audit_events_and_events_with_its_record(make_wallet):
    wallet = make_wallet()

    def effect():
        _audit("effect")
        emit(WalletsEvent.WALLET_FROZEN, wallet, actor=ACTOR)
        assert not AuditEvent.objects.filter(object_id="effect").exists()  # held, on both databases
        return 201, {"ok": True}

    audits, events = AuditEvent.objects.count(), Event.objects.count()
    with CaptureQueriesContext(connection) as queries:
        result = execute_write(actor=ACTOR, operation="op", key="k1", payload={}, effect=effect)
    assert result == WriteResult(201, {"ok": True})
    writes = [written(q["sql"]) for q in queries.captured_queries if written(q["sql"])]
    if connection.vendor == "postgresql":
        # One statement: the held rows (by model, in the order first held) and then the record.
        # (Reads left out: the event renders the wallet's balance; the effect's own check above.)
        assert [name for name in names(queries) if not name.startswith("SELECT ")] == [
            "BEGIN", lock_read(), "WITH core_auditevent", "COMMIT"]
        assert writes == [["core_auditevent", "core_event", "core_idempotencyrecord"]]
    else:
        assert writes == [["core_auditevent"], ["core_event"], ["core_idempotencyrecord"]]
    assert (AuditEvent.objects.count(), Event.objects.count(), IdempotencyRecord.objects.count()) == (
        audits + 1, events + 1, 1)
    assert AuditEvent.objects.filter(object_id="effect").count() == 1
    assert Event.objects.filter(type="wallet.frozen", object_id=wallet.pk).count() == 1


def test_a_savepoint_in_the_block_writes_rows_at_once_and_its_rollback_drops_only_its_own():
    with transaction.atomic(), heldrows.holding():
        _audit("before")
        try:
            with transaction.atomic():
                _audit("inside")
                assert _audited() == ["inside"]  # written at once: a rollback to the savepoint must drop it
                raise ValueError("undo the savepoint")
        except ValueError:
            pass
        _audit("after")  # a savepoint was taken in the block: written at once too
        assert _audited() == ["after"]
    assert _audited() == ["after", "before"]


def test_a_manual_savepoint_stops_holding_as_an_atomic_block_does():
    with transaction.atomic(), heldrows.holding():
        savepoint = transaction.savepoint()
        _audit("refused")
        transaction.savepoint_rollback(savepoint)
        _audit("kept")
        assert _audited() == ["kept"]
    assert _audited() == ["kept"]


def test_an_exception_leaving_the_block_rolls_the_transaction_back_even_if_caught():
    before = AuditEvent.objects.count()
    with transaction.atomic():
        try:
            with heldrows.holding():
                _audit("lost?")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert transaction.get_rollback() is True
    assert AuditEvent.objects.count() == before


def test_outside_a_block_rows_are_written_at_once():
    with transaction.atomic():
        _audit("now")
        assert _audited() == ["now"]


def test_a_model_with_save_receivers_is_written_at_once_and_they_run():
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.object_id, created))

    post_save.connect(receiver, sender=AuditEvent, weak=False)
    try:
        with transaction.atomic(), heldrows.holding():
            _audit("signalled")
            assert (_audited(), seen) == (["signalled"], [("signalled", True)])
    finally:
        post_save.disconnect(receiver, sender=AuditEvent)


def test_holding_needs_a_transaction():
    with pytest.raises(RuntimeError, match="needs a transaction"), heldrows.holding():
        pytest.fail("not reached")


@pytest.mark.postgres
def test_a_held_row_that_fails_is_its_own_error_not_a_taken_key_and_nothing_is_written():
    existing = _audit("first")

    def effect():
        clash = AuditEvent(id=existing.pk, occurred_at=existing.occurred_at, action=existing.action,
                           actor_type="system", object_id="clash")
        heldrows.insert_later(clash)
        _audit("second")
        return 201, {}

    with pytest.raises(IntegrityError) as raised:
        execute_write(actor=ACTOR, operation="op", key="k2", payload={}, effect=effect)
    assert raised.value.__cause__.diag.constraint_name == "core_auditevent_pkey"
    assert _audited() == ["first"]
    assert IdempotencyRecord.objects.count() == 0


def test_an_unkeyed_write_holds_its_rows_too():
    def effect():
        _audit("unkeyed")
        assert not AuditEvent.objects.filter(object_id="unkeyed").exists()
        return 200, {}

    assert execute_write(actor=ACTOR, operation="op", key=None, payload={}, effect=effect) == WriteResult(200, {})
    assert _audited() == ["unkeyed"]


def test_inside_someone_elses_transaction_nothing_is_held_and_a_caught_refusal_leaves_it_usable():
    def refused():
        _audit("refused")
        assert _audited() == ["before", "refused"]  # written at once: the owner decides what commits
        raise BusinessRefusal("No.", code="test_refused")

    with transaction.atomic():
        _audit("before")
        with pytest.raises(BusinessRefusal):
            execute_write(actor=ACTOR, operation="op", key=None, payload={}, effect=refused)
        assert transaction.get_rollback() is False
        _audit("after")
    assert _audited() == ["after", "before", "refused"]


def test_an_exception_with_nothing_held_leaves_the_transaction_usable():
    with transaction.atomic():
        with pytest.raises(RuntimeError), heldrows.holding():
            raise RuntimeError("nothing held")
        assert transaction.get_rollback() is False
        _audit("still")
    assert _audited() == ["still"]


def test_a_held_row_whose_value_cannot_be_written_rolls_the_transaction_back():
    with transaction.atomic():
        try:
            with heldrows.holding():
                audit_record(action=WalletsAction.WALLET_CREATED, actor=ACTOR, object_id="bad",
                             details={"not json": object()})
        except TypeError:
            pass
        assert transaction.get_rollback() is True
    assert _audited() == []


def test_audit_details_are_copied_when_recorded():
    details = {"providers": ["a"]}
    with transaction.atomic(), heldrows.holding():
        audit_record(action=WalletsAction.WALLET_CREATED, actor=ACTOR, object_id="copied", details=details)
        details["providers"].append("b")  # after the call, before the held row is written
    assert AuditEvent.objects.get(object_id="copied").details == {"providers": ["a"]}


@pytest.mark.postgres
def test_a_record_committed_meanwhile_is_replayed_when_held_rows_go_with_the_record():
    # The race of tests/foundation/test_idempotency_statements.py with held rows: the combined statement fails on
    # the key's constraint, which is the key taken, answered as a replay; the effect's audit event is rolled back.
    from tests.foundation.test_idempotency_statements import PAYLOAD, _record_from_elsewhere

    def effect():
        _audit("mine")
        _record_from_elsewhere("race", {"from": "other"})
        return 201, {"from": "me"}

    result = execute_write(actor=Actor.system("tests"), operation="op", key="race", payload=PAYLOAD, effect=effect)
    assert result == WriteResult(201, {"from": "other"}, replayed=True)
    assert _audited() == []


# --- changes held: the ledger's write leads the block's last statement (PostgreSQL) ------------------------------

def _transfer(source, target, amount=100):
    from wallets.services import wallet_transfer

    return wallet_transfer(actor=ACTOR, from_wallet_id=source.pk, to_wallet_id=target.pk, amount=amount,
                           currency="USD")


def _balances(*wallets) -> list[int]:
    from wallets.models import LedgerAccount

    return [LedgerAccount.objects.get(pk=w.account_id).balance for w in wallets]


@pytest.mark.postgres
def test_a_ledger_write_in_the_block_leads_its_last_statement(make_wallet):
    source, target = make_wallet(balance=1_000), make_wallet()
    wrappers = list(connection.execute_wrappers)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with heldrows.holding() as held:
            _transfer(source, target)
            assert held.changes is not None and not any(written(q["sql"]) for q in queries.captured_queries)
            held.write([_audit_row("last")])
    assert [written(q["sql"]) for q in queries.captured_queries if written(q["sql"])] == [
        ["wallets_journalentry", "wallets_posting", "wallets_ledgeraccount", "core_auditevent", "core_event",
         "core_auditevent"]]
    assert _balances(source, target) == [900, 100]
    assert AuditEvent.objects.filter(action=WalletsAction.WALLET_TRANSFERRED, object_id=source.pk).count() == 1
    assert AuditEvent.objects.filter(object_id="last").count() == 1
    assert connection.execute_wrappers == wrappers


def _audit_row(object_id: str) -> AuditEvent:
    from core import clock

    return AuditEvent(occurred_at=clock.now(), action=WalletsAction.WALLET_CREATED, actor_type="system",
                      object_type="wallets.wallet", object_id=object_id)


@pytest.mark.postgres
def test_any_statement_after_held_changes_sends_them_first_so_it_sees_them(make_wallet):
    source, target = make_wallet(balance=1_000), make_wallet()
    with transaction.atomic(), heldrows.holding() as held:
        _transfer(source, target)
        with CaptureQueriesContext(connection) as queries:
            assert _balances(source, target) == [900, 100]  # a read: the changes went first
        assert held.changes is None
        assert [name for name in names(queries)][:2] == ["WITH wallets_journalentry", "SELECT wallets_ledgeraccount"]
        _transfer(source, target)  # held again: the lock query sent nothing held before it
        assert held.changes is not None
    assert _balances(source, target) == [800, 200]


@pytest.mark.postgres
def test_a_savepoint_after_held_changes_sends_them_first_and_its_rollback_keeps_them(make_wallet):
    source, target = make_wallet(balance=1_000), make_wallet()
    with transaction.atomic(), heldrows.holding():
        _transfer(source, target)
        try:
            with transaction.atomic():
                _transfer(source, target, amount=300)  # at once: a savepoint was taken
                raise ValueError("undo the savepoint")
        except ValueError:
            pass
    assert _balances(source, target) == [900, 100]


@pytest.mark.postgres
def test_an_exception_leaving_the_block_drops_held_changes_with_the_transaction(make_wallet):
    from wallets.models import JournalEntry

    source, target = make_wallet(balance=1_000), make_wallet()
    entries, wrappers = JournalEntry.objects.count(), list(connection.execute_wrappers)
    with transaction.atomic():
        try:
            with heldrows.holding():
                _transfer(source, target)
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert transaction.get_rollback() is True
    assert (_balances(source, target), JournalEntry.objects.count()) == ([1_000, 0], entries)
    assert connection.execute_wrappers == wrappers


@pytest.mark.postgres
def test_a_wrapper_pushed_after_held_changes_is_the_one_its_context_pops(make_wallet):
    source, target = make_wallet(balance=1_000), make_wallet()
    seen = []

    def theirs(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with transaction.atomic(), heldrows.holding():
        with connection.execute_wrapper(theirs):
            _transfer(source, target)
        assert theirs not in connection.execute_wrappers
        assert _balances(source, target) == [900, 100]
    assert seen and not any(written(sql) for sql in seen)  # the changes were sent after their context ended


@pytest.mark.postgres
def test_held_changes_that_touch_fewer_accounts_than_locked_fail_and_write_nothing(make_wallet):
    from core import rawrows
    from wallets.models import LedgerAccount

    wallet = make_wallet(balance=1_000)
    audited = _audited()
    touched = rawrows.Changes(((f"UPDATE {LedgerAccount._meta.db_table} SET balance = 5 WHERE id IN (%s, %s) "
                                "RETURNING 1", [wallet.account_id, -1]),), rows=2)
    with pytest.raises(RuntimeError, match="touched 1 rows where 2 are locked"), transaction.atomic():
        with heldrows.holding() as held:
            heldrows.execute_later(touched)
            held.write([_audit_row("with it")])
    assert (_balances(wallet), _audited()) == ([1_000], audited)
    with pytest.raises(RuntimeError, match="touched 1 rows where 2 are locked"), transaction.atomic():
        heldrows.execute_later(touched)  # no block: at once
    assert _balances(wallet) == [1_000]


def _set_status(key: str, status: int, *, rows: int = 1):
    from core import rawrows

    table = IdempotencyRecord._meta.db_table
    return rawrows.Changes(((f"UPDATE {table} SET response_status = %s WHERE key = %s RETURNING 1", [status, key]),),
                           rows=rows, tables=frozenset({table}))


def _records(*keys: str) -> None:
    from core import clock

    for key in keys:
        IdempotencyRecord.objects.create(scope="s", key=key, operation="op", fingerprint="f" * 64, state="completed",
                                         response_status=201, response_body={}, created_at=clock.now(),
                                         expires_at=clock.now())


def _statuses() -> dict[str, int]:
    return dict(IdempotencyRecord.objects.values_list("key", "response_status"))


@pytest.mark.postgres
def test_changes_to_other_tables_are_held_together_and_go_in_one_statement(make_wallet):
    source, target = make_wallet(balance=1_000), make_wallet()
    _records("r1")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with heldrows.holding() as held:
            _transfer(source, target)
            heldrows.execute_later(_set_status("r1", 299))
            assert held.changes is not None and len(held.changes.counted) == 2
    assert [written(q["sql"]) for q in queries.captured_queries if written(q["sql"])][-1] == [
        "wallets_journalentry", "wallets_posting", "wallets_ledgeraccount", "core_idempotencyrecord",
        "core_auditevent", "core_event"]
    assert (_balances(source, target), _statuses()) == ([900, 100], {"r1": 299})


@pytest.mark.postgres
def test_changes_to_a_table_held_changes_update_send_those_first_then_themselves(make_wallet):
    source, target = make_wallet(balance=1_000), make_wallet()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with heldrows.holding() as held:
            _transfer(source, target)
            _transfer(source, target, amount=50)  # its lock sends the first; it is held in turn
            assert held.changes is not None
            _records("r1")
            heldrows.execute_later(_set_status("r1", 299))
            heldrows.execute_later(_set_status("r1", 298))  # the same table: the held 299 first, then this
            assert held.changes is None
    assert [name for name in names(queries) if name.startswith(("WITH", "UPDATE"))] == [
        "WITH wallets_journalentry", "WITH wallets_journalentry", "UPDATE core_idempotencyrecord",
        "UPDATE core_idempotencyrecord", "WITH core_auditevent"]
    assert (_balances(source, target), _statuses()) == ([850, 150], {"r1": 298})


@pytest.mark.postgres
def test_a_count_short_in_any_of_the_held_changes_fails_the_transaction(make_wallet):
    source, target = make_wallet(balance=1_000), make_wallet()
    _records("r1")
    with pytest.raises(RuntimeError, match="touched 0 rows where 1 are locked"), transaction.atomic():
        with heldrows.holding():
            heldrows.execute_later(_set_status("missing", 299))
            _transfer(source, target)  # its lock sends the held update alone, which comes short
    assert (_balances(source, target), _statuses()) == ([1_000, 0], {"r1": 201})
    from core import rawrows

    both = _set_status("missing", 299) + rawrows.Changes((("SELECT 1 WHERE false", []),))
    with pytest.raises(RuntimeError, match="touched 0 rows where 1 are locked"), transaction.atomic():
        rawrows.run(both)  # a count before the last part: the statement returns it


def test_changes_that_write_one_table_are_not_added():
    with pytest.raises(ValueError, match="core_idempotencyrecord"):
        _set_status("a", 1) + _set_status("b", 2)


@pytest.mark.postgres
def test_joining_uses_the_enclosing_block_at_its_level_and_holds_its_own_otherwise():
    with transaction.atomic(), heldrows.holding() as outer:
        with heldrows.joining():
            _audit("joined")
        assert [type(row) for row in outer.rows] == [AuditEvent]  # the owner writes it
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            with heldrows.joining():
                _audit("own")
                _audit("own too")
                assert len(queries) == 0  # held by its own block (a savepoint stopped the outer one)
        assert len([q for q in queries.captured_queries if written(q["sql"])]) == 1
    assert _audited() == ["joined", "own", "own too"]


@pytest.mark.postgres
def test_held_changes_that_fail_when_sent_fail_the_block_even_if_someone_caught_the_error(make_wallet):
    from core import rawrows
    from wallets.models import LedgerAccount

    wallet = make_wallet(balance=1_000)
    audited = _audited()
    table = LedgerAccount._meta.db_table
    short = rawrows.Changes(((f"UPDATE {table} SET balance = 5 WHERE id IN (%s, %s) RETURNING 1",
                              [wallet.account_id, -1]),), rows=2, tables=frozenset({table}))
    with pytest.raises(RuntimeError, match="touched 1 rows where 2 are locked"), transaction.atomic():
        with heldrows.holding():
            _audit("held")
            heldrows.execute_later(short)
            try:
                AuditEvent.objects.count()  # sends the held changes first, which fail
            except RuntimeError:
                pass  # swallowed by someone in between: the block still fails when it ends
    assert (_balances(wallet), _audited()) == ([1_000], audited)


def test_an_exception_leaving_a_joined_block_after_it_held_rows_marks_the_transaction():
    from django.db.transaction import TransactionManagementError

    # The owner's block cannot write what it holds in a transaction that must roll back: it says so.
    with pytest.raises(TransactionManagementError), transaction.atomic():
        with heldrows.holding():
            _audit("outer")
            try:
                with heldrows.joining():
                    _audit("joined")
                    raise RuntimeError("half done")
            except RuntimeError:
                pass
            assert transaction.get_rollback() is True
    assert _audited() == []


def test_an_exception_leaving_a_joined_block_before_it_held_anything_leaves_the_transaction_usable():
    with transaction.atomic():
        with heldrows.holding():
            _audit("outer")
            try:
                with heldrows.joining():
                    raise RuntimeError("refused before any write")
            except RuntimeError:
                pass
            assert transaction.get_rollback() is False
    assert _audited() == ["outer"]
