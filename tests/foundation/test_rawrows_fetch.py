"""core.rawrows.fetch and update: the rows and the changes the ORM's filter(), select_for_update() and
update() give, with statements built once."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent, IdempotencyRecord
from core.rawrows import fetch, insert_many, update
from tests.concurrency import failures, run_threads

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=dt.UTC)


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _records(*keys, scope="key:1"):
    return insert_many([IdempotencyRecord(scope=scope, key=key, operation="create_transfer", fingerprint="f" * 64,
                                          state=IdempotencyRecord.State.COMPLETED, response_status=201,
                                          response_body={"id": key, "nested": [1, None, "é"]}, created_at=NOW,
                                          expires_at=NOW + dt.timedelta(days=1)) for key in keys])


def test_fetch_gives_the_rows_the_orm_gives_field_for_field():
    _records("a", "b")
    _records("a", scope="key:2")
    [found] = fetch(IdempotencyRecord, scope="key:1", key="b")
    assert _fields(found) == _fields(IdempotencyRecord.objects.get(scope="key:1", key="b"))
    assert found.response_body == {"id": "b", "nested": [1, None, "é"]} and found.created_at == NOW
    assert not found._state.adding and found._state.db == "default"
    assert fetch(IdempotencyRecord, scope="key:1", key="missing") == []


def test_a_list_is_in_and_the_rows_come_in_key_order():
    records = _records("a", "b", "c")
    ids = [records[2].pk, records[0].pk, 10**9]
    assert [r.key for r in fetch(IdempotencyRecord, pk=ids)] == ["a", "c"]
    assert [r.key for r in fetch(IdempotencyRecord, id=tuple(ids), key="c")] == ["c"]
    with CaptureQueriesContext(connection) as queries:
        assert fetch(IdempotencyRecord, pk=[]) == []  # nothing can match: no statement
    assert len(queries) == 0


def test_none_is_null_as_in_the_orm():
    insert_many([AuditEvent(occurred_at=NOW, action="a.one", actor_type="system", object_id="x"),
                 AuditEvent(occurred_at=NOW, action="a.two", actor_type="system", object_id="y",
                            request_id="req_1")])
    assert [e.action for e in fetch(AuditEvent, request_id="req_1")] == ["a.two"]
    ours = [e.pk for e in fetch(AuditEvent, action=["a.one", "a.two"], request_id="")]
    assert ours == list(AuditEvent.objects.filter(action__in=["a.one", "a.two"], request_id="")
                        .order_by("pk").values_list("pk", flat=True))


def test_the_statement_is_built_once_per_shape(monkeypatch):
    import core.rawrows

    _records("a", "b")
    builds = []
    original = core.rawrows._fetch_statement
    monkeypatch.setattr(core.rawrows, "_fetch_statement", lambda *a: builds.append(a[1]) or original(*a))
    for key in ("a", "b", "a"):
        fetch(IdempotencyRecord, scope="key:1", key=key, operation="create_transfer")
    fetch(IdempotencyRecord, key=["a", "b"])
    fetch(IdempotencyRecord, key=["a", "b"])
    assert len(builds) == 2


def test_only_columns_and_plain_keys_are_accepted():
    from django.core.exceptions import FieldDoesNotExist

    with pytest.raises(TypeError):
        fetch(IdempotencyRecord, scope=AuditEvent())
    with pytest.raises(TypeError):
        update(IdempotencyRecord, {"scope": AuditEvent()}, key="a")
    with pytest.raises(FieldDoesNotExist):
        fetch(IdempotencyRecord, no_such_column=1)


def _outcome(read):
    try:
        return [r.key for r in read()]
    except transaction.TransactionManagementError:
        return "refused"


def test_a_lock_outside_a_transaction_is_refused_where_the_orm_refuses_it():
    _records("a")
    ours = _outcome(lambda: fetch(IdempotencyRecord, lock=True, key="a"))
    assert ours == _outcome(lambda: list(IdempotencyRecord.objects.select_for_update().filter(key="a")))
    # PostgreSQL refuses it; SQLite, which has no FOR UPDATE, reads.
    assert ours == ("refused" if connection.vendor == "postgresql" else ["a"])
    # Nothing can match: nothing runs, so nothing is refused (as the ORM).
    assert fetch(IdempotencyRecord, lock=True, key=[]) == []
    assert list(IdempotencyRecord.objects.select_for_update().filter(key__in=[])) == []


def test_json_columns_and_empty_updates_are_left_to_the_orm():
    [record] = _records("a")
    with pytest.raises(TypeError):
        fetch(IdempotencyRecord, response_body=None)  # the ORM's None here is a JSON null, not IS NULL
    with CaptureQueriesContext(connection) as queries:
        assert update(IdempotencyRecord, {}, key="a") == 0
    assert len(queries) == 0
    assert IdempotencyRecord.objects.filter(key="a").update() == 0


def test_a_lock_is_for_update_on_postgresql_and_nothing_on_sqlite():
    [record] = _records("a")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert [r.pk for r in fetch(IdempotencyRecord, lock=True, pk=[record.pk])] == [record.pk]
    [select] = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert select.endswith("FOR UPDATE") == (connection.vendor == "postgresql")
    assert "ORDER BY" in select


@pytest.mark.postgres
def test_a_locked_row_waits_for_the_lock_holder():
    [record] = _records("a")
    holding, order = threading.Event(), []

    def worker(i):
        if i == 0:
            with transaction.atomic():
                fetch(IdempotencyRecord, lock=True, pk=[record.pk])
                holding.set()
                time.sleep(0.5)
                order.append("first released")
        else:
            holding.wait(10)
            with transaction.atomic():
                fetch(IdempotencyRecord, lock=True, pk=[record.pk])
                order.append("second locked")

    assert failures(run_threads(2, worker)) == []
    assert order == ["first released", "second locked"]


def test_update_changes_the_matching_rows_as_the_orms_update_and_says_how_many():
    _records("a", "b")
    _records("a", scope="key:2")
    for round_ in (1, 2):  # the second round runs the kept statement
        values = {"state": IdempotencyRecord.State.IN_PROGRESS, "response_status": 200 + round_,
                  "response_body": {"round": round_}, "locked_until": None}
        changed = update(IdempotencyRecord, values, scope="key:1", key="a")
        assert changed == 1
        stored = {(r.scope, r.key): (r.state, r.response_status, r.response_body)
                  for r in IdempotencyRecord.objects.all()}
        untouched = IdempotencyRecord.State.COMPLETED, 201
        assert stored == {("key:1", "a"): (IdempotencyRecord.State.IN_PROGRESS, 200 + round_, {"round": round_}),
                          ("key:1", "b"): (*untouched, {"id": "b", "nested": [1, None, "é"]}),
                          ("key:2", "a"): (*untouched, {"id": "a", "nested": [1, None, "é"]})}
    assert update(IdempotencyRecord, {"response_status": 500}, key="missing") == 0
    assert update(IdempotencyRecord, {"response_status": 500}, key=[]) == 0
    assert not IdempotencyRecord.objects.filter(response_status=500).exists()


def test_an_expression_goes_to_the_orms_update():
    _records("a")
    assert update(IdempotencyRecord, {"response_status": F("response_status") + 1}, key="a") == 1
    assert IdempotencyRecord.objects.get(key="a").response_status == 202


def test_update_changes_are_the_same_update_sent_later():
    from core.rawrows import run, update_changes

    _records("a", "b")
    changes = update_changes(IdempotencyRecord, {"response_status": 299}, key="a")
    assert changes is not None and changes.tables == {IdempotencyRecord._meta.db_table}
    assert IdempotencyRecord.objects.get(key="a").response_status == 201  # nothing sent yet
    with transaction.atomic():
        run(changes)
    assert dict(IdempotencyRecord.objects.values_list("key", "response_status")) == {"a": 299, "b": 201}
    assert update_changes(IdempotencyRecord, {"response_status": 500}, key=[]) is None
    with pytest.raises(TypeError):
        update_changes(IdempotencyRecord, {"response_status": F("response_status") + 1}, key="a")
