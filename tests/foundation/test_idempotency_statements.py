"""The statements and commits of `execute_write` in a transaction of its own (issue 12): a db-mode
write is BEGIN, the lock with the record, the effect, the record, COMMIT; a refusal worth storing
rolls the effect back and is recorded by a second transaction; a record committed by someone else
between the read and the insert is replayed, never a 500 or a second effect; a lease is inserted by
the effect's first transaction and completed by one more."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import LoginThrottle
from core import clock
from core.context import Actor
from core.db import run_in_transaction
from core.errors import BusinessRefusal, DomainError, IdempotencyKeyInUse, ValidationFailed
from core.idempotency import WriteResult, execute_write, fingerprint
from core.models import IdempotencyRecord
from tests.statements import commits, lock_read, names

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor.system("tests")
PAYLOAD = {"note": "n"}


def _row(note: str) -> LoginThrottle:
    """The effect's write: a plain row (no audit log of its own), so the statements are only ours."""
    return LoginThrottle.objects.create(username=note)


def _write(effect, key="k", mode="db"):
    return execute_write(actor=ACTOR, operation="op", key=key, payload=PAYLOAD, effect=effect, mode=mode)


def _record_from_elsewhere(key: str, body: dict) -> None:
    """Another request's record, committed on another connection while this one runs."""

    def insert():
        try:
            now = clock.now()
            IdempotencyRecord.objects.create(
                scope=ACTOR.idempotency_scope, key=key, operation="op", fingerprint=fingerprint("op", PAYLOAD),
                state=IdempotencyRecord.State.COMPLETED, response_status=201, response_body=body, created_at=now,
                expires_at=now + dt.timedelta(hours=24))
        finally:
            connection.close()

    thread = threading.Thread(target=insert)
    thread.start()
    thread.join(10)


def test_a_db_write_is_one_transaction_without_a_savepoint():
    with CaptureQueriesContext(connection) as queries:
        result = _write(lambda: (201, {"id": _row("a").pk}))
    row = LoginThrottle.objects.get()
    assert result == WriteResult(201, {"id": row.pk})
    assert names(queries) == ["BEGIN", lock_read(), "INSERT accounts_loginthrottle", "INSERT core_idempotencyrecord",
                              "COMMIT"]
    with CaptureQueriesContext(connection) as queries:
        replay = _write(lambda: pytest.fail("a replay never runs the effect"))
    assert replay == WriteResult(201, {"id": row.pk}, replayed=True)
    assert names(queries) == ["BEGIN", lock_read(), "COMMIT"]


def test_a_stored_refusal_rolls_the_effect_back_and_is_recorded_by_a_second_transaction():
    def refuse():
        _row("refused")
        raise BusinessRefusal("No.", code="test_refused", details={"n": 1})

    with CaptureQueriesContext(connection) as queries, pytest.raises(BusinessRefusal) as refused:
        _write(refuse)
    assert refused.value.replayed is False
    assert names(queries) == ["BEGIN", lock_read(), "INSERT accounts_loginthrottle", "ROLLBACK",
                              "BEGIN", lock_read(), "INSERT core_idempotencyrecord", "COMMIT"]
    assert LoginThrottle.objects.count() == 0
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.state, record.response_status, record.response_body) == (
        "k", "completed", 422, {"error": {"code": "test_refused", "message": "No.", "details": {"n": 1}}})
    with pytest.raises(DomainError) as replayed:
        _write(lambda: pytest.fail("a replay never runs the effect"))
    assert (replayed.value.replayed, replayed.value.status, replayed.value.code) == (True, 422, "test_refused")


def test_a_refusal_not_stored_writes_nothing():
    def invalid():
        _row("invalid")
        raise ValidationFailed({"note": ["Bad."]})

    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationFailed):
        _write(invalid)
    assert names(queries) == ["BEGIN", lock_read(), "INSERT accounts_loginthrottle", "ROLLBACK"]
    assert (LoginThrottle.objects.count(), IdempotencyRecord.objects.count()) == (0, 0)


@pytest.mark.postgres
def test_a_record_committed_between_the_read_and_the_insert_is_replayed_with_no_second_effect():
    # What READ COMMITTED allows when the lock is taken after the statement's snapshot: the previous
    # holder's record is not seen. The unique (scope, key) constraint catches it at the insert.
    runs = []

    def effect():
        runs.append(1)
        _row("mine")
        _record_from_elsewhere("k", {"from": "other"})
        return 201, {"from": "me"}

    with CaptureQueriesContext(connection) as queries:
        result = _write(effect)
    assert result == WriteResult(201, {"from": "other"}, replayed=True)
    assert runs == [1]
    assert (LoginThrottle.objects.count(), IdempotencyRecord.objects.count()) == (0, 1)
    assert names(queries) == ["BEGIN", "lock+read", "INSERT accounts_loginthrottle", "INSERT core_idempotencyrecord",
                              "ROLLBACK", "BEGIN", "lock+read", "COMMIT"]


@pytest.mark.postgres
def test_a_refusal_meets_the_record_another_request_wrote_meanwhile_and_answers_it():
    def effect():
        _row("mine")
        _record_from_elsewhere("k", {"from": "other"})
        raise BusinessRefusal("No.", code="test_refused")

    result = _write(effect)
    assert result == WriteResult(201, {"from": "other"}, replayed=True)
    assert LoginThrottle.objects.count() == 0
    assert list(IdempotencyRecord.objects.values_list("response_status", "response_body")) == [
        (201, {"from": "other"})]


def test_a_lease_commits_with_the_first_step_and_completes_in_one_more_transaction():
    def effect():
        first = run_in_transaction(lambda: _row("first"))
        second = run_in_transaction(lambda: _row("second"))
        return 201, {"ids": [first.pk, second.pk]}

    with CaptureQueriesContext(connection) as queries:
        result = _write(effect, mode="lease")
    assert result.status == 201 and not result.replayed
    assert commits(queries) == [
        ["INSERT core_idempotencyrecord", "INSERT accounts_loginthrottle"],
        ["INSERT accounts_loginthrottle"],
        ["UPDATE core_idempotencyrecord"],
    ]
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.response_status, record.response_body, record.locked_until) == (
        "completed", 201, result.body, None)
    with CaptureQueriesContext(connection) as queries:
        replay = _write(lambda: pytest.fail("a replay never runs the effect"), mode="lease")
    assert replay == WriteResult(201, result.body, replayed=True)
    assert commits(queries) == []


def test_a_lease_effect_that_writes_nothing_is_recorded_with_its_outcome():
    with CaptureQueriesContext(connection) as queries:
        result = _write(lambda: (200, {"n": LoginThrottle.objects.count()}), mode="lease")
    assert result == WriteResult(200, {"n": 0})
    assert commits(queries) == [["INSERT core_idempotencyrecord", "UPDATE core_idempotencyrecord"]]
    assert IdempotencyRecord.objects.get().response_body == {"n": 0}


def test_a_crash_after_the_first_step_leaves_a_lease_that_expires():
    def crash():
        run_in_transaction(lambda: _row("charged"))
        raise RuntimeError("the process died after the provider call")

    start = clock.now()
    with pytest.raises(RuntimeError):
        _write(crash, mode="lease")
    record = IdempotencyRecord.objects.get()
    assert record.state == "in_progress"
    assert start + dt.timedelta(seconds=59) < record.locked_until <= clock.now() + dt.timedelta(seconds=60)
    with pytest.raises(IdempotencyKeyInUse):
        _write(lambda: pytest.fail("the key is held"), mode="lease")
    IdempotencyRecord.objects.update(locked_until=start - dt.timedelta(seconds=1))
    assert _write(lambda: (201, {"again": True}), mode="lease") == WriteResult(201, {"again": True})
    assert IdempotencyRecord.objects.get().state == "completed"


def test_a_crash_before_the_first_transaction_leaves_nothing():
    def crash():
        LoginThrottle.objects.count()
        raise RuntimeError("the process died before writing")

    with pytest.raises(RuntimeError):
        _write(crash, mode="lease")
    assert IdempotencyRecord.objects.count() == 0


def test_a_lease_refusal_after_a_step_is_stored_and_one_not_stored_frees_the_key():
    def refuse(error):
        def effect():
            run_in_transaction(lambda: _row(error.code))
            raise error
        return effect

    with pytest.raises(BusinessRefusal):
        _write(refuse(BusinessRefusal("No.", code="test_refused")), key="stored", mode="lease")
    with pytest.raises(ValidationFailed):
        _write(refuse(ValidationFailed({"note": ["Bad."]})), key="free", mode="lease")
    assert list(IdempotencyRecord.objects.values_list("key", "state", "response_status")) == [
        ("stored", "completed", 422)]
    # The steps committed before the refusals stand (the service's business), the key is free again.
    assert sorted(LoginThrottle.objects.values_list("username", flat=True)) == ["test_refused", "validation_error"]
