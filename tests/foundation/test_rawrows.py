"""core.rawrows.insert: the same row the ORM's save would write, and the ORM's save itself wherever
that does more than one plain INSERT."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent, Event, IdempotencyRecord
from core.rawrows import Changes, insert, insert_many, insert_together

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=dt.UTC)


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _record(key="k-1"):
    return IdempotencyRecord(scope="key:1", key=key, operation="create_transfer", fingerprint="f" * 64,
                             state=IdempotencyRecord.State.COMPLETED, response_status=201,
                             response_body={"id": "tr_1", "amount": "1.00", "nested": [1, None, "é"]},
                             created_at=NOW, expires_at=NOW + dt.timedelta(days=1))


def test_an_auto_key_comes_back_and_the_row_reads_as_written():
    first, second = _record("k-1"), _record("k-2")
    with CaptureQueriesContext(connection) as queries:
        insert(first)
        insert(second)
    assert len(queries) == 2
    assert isinstance(first.pk, int) and second.pk == first.pk + 1
    assert not first._state.adding and first._state.db == "default"
    assert _fields(IdempotencyRecord.objects.get(pk=first.pk)) == _fields(first)


def test_a_public_id_default_and_json_details_are_written():
    event = AuditEvent(occurred_at=NOW, action="wallet.created", actor_type="system", actor_id="t",
                       details={"amount": "1.00", "list": [1, 2]})
    with transaction.atomic():
        insert(event)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert event.pk.startswith("aud_") and stored.pk == event.pk
    assert stored.details == {"amount": "1.00", "list": [1, 2]} and stored.occurred_at == NOW
    # The BEFORE INSERT trigger still stamps the transaction on PostgreSQL (it sees a NULL, as from the ORM).
    assert (stored.xact_id is not None) == (connection.vendor == "postgresql")


def test_the_unique_constraint_still_refuses_a_duplicate_and_dooms_the_transaction():
    insert(_record("same"))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert(_record("same"))
        # As after the ORM's save: the block cannot go on as if nothing happened.
        assert transaction.get_rollback() is True
        transaction.set_rollback(False)
    assert IdempotencyRecord.objects.filter(key="same").count() == 1


def test_a_model_with_its_own_save_is_saved_by_it(monkeypatch):
    calls = []

    def save(self, *args, **kwargs):
        calls.append(kwargs)
        return models.Model.save(self, *args, **kwargs)

    monkeypatch.setattr(IdempotencyRecord, "save", save)
    record = _record("own-save")
    insert(record)
    assert calls == [{"force_insert": True}] and IdempotencyRecord.objects.filter(pk=record.pk).exists()


def test_a_model_with_a_save_receiver_is_saved_by_the_orm():
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    post_save.connect(receiver, sender=Event, weak=False, dispatch_uid="test.rawrows")
    try:
        event = Event(type="wallet.created", created=NOW, object_type="wallets.wallet", object_id="wal_x",
                      data={"object": {}}, actor_type="system", actor_id="t", actor_label="t")
        with transaction.atomic():
            insert(event)
    finally:
        post_save.disconnect(sender=Event, dispatch_uid="test.rawrows")
    assert heard == [(event.pk, True)]
    assert Event.objects.filter(pk=event.pk).exists()


def test_many_rows_in_one_statement_come_back_with_their_keys_in_order():
    records = [_record(f"m-{i}") for i in range(3)]
    with CaptureQueriesContext(connection) as queries:
        assert insert_many(records) == records
    assert len(queries) == 1
    assert [r.pk for r in records] == sorted(r.pk for r in records) and len({r.pk for r in records}) == 3
    for record in records:
        assert _fields(IdempotencyRecord.objects.get(pk=record.pk)) == _fields(record)
    assert insert_many([]) == []


def test_rows_of_two_models_are_refused_and_nothing_is_written():
    event = AuditEvent(occurred_at=NOW, action="wallet.created", actor_type="system")
    with pytest.raises(TypeError):
        insert_many([_record("mixed"), event])
    assert not IdempotencyRecord.objects.filter(key="mixed").exists() and not AuditEvent.objects.exists()


def test_a_batch_beyond_one_statements_parameters_goes_to_bulk_create(monkeypatch):
    import core.rawrows

    columns = len(IdempotencyRecord._meta.concrete_fields) - 1  # the auto key is not written
    monkeypatch.setattr(core.rawrows, "_MAX_PARAMS", 2 * columns - 1)  # two records are one parameter too many
    bulk = []
    original = models.QuerySet.bulk_create
    monkeypatch.setattr(models.QuerySet, "bulk_create",
                        lambda self, objs, *a, **kw: bulk.append(len(objs)) or original(self, objs, *a, **kw))
    insert_many([_record("one")])
    assert bulk == []  # one record fits
    records = [_record(f"b-{i}") for i in range(2)]
    insert_many(records)
    assert bulk == [2]
    assert all(isinstance(r.pk, int) for r in records)
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["b-0", "b-1", "one"]


def test_update_rows_writes_each_rows_own_values_with_the_kept_statement():
    from core.db import update_rows

    records = insert_many([_record("u-1"), _record("u-2"), _record("u-3")])
    for round_ in (1, 2):  # the second round runs the statement kept by the first
        for n, record in enumerate(records[:2]):
            record.response_status, record.response_body = 200 + 10 * round_ + n, {"round": round_, "n": n}
        assert update_rows(IdempotencyRecord, records[:2], ["response_status", "response_body"]) == 2
        stored = {r.key: (r.response_status, r.response_body) for r in IdempotencyRecord.objects.all()}
        assert stored == {"u-1": (200 + 10 * round_, {"round": round_, "n": 0}),
                          "u-2": (201 + 10 * round_, {"round": round_, "n": 1}),
                          "u-3": (201, {"id": "tr_1", "amount": "1.00", "nested": [1, None, "é"]})}
    records[2].state = IdempotencyRecord.State.IN_PROGRESS
    assert update_rows(IdempotencyRecord, records[2:], ["state"]) == 1
    assert IdempotencyRecord.objects.get(key="u-3").state == IdempotencyRecord.State.IN_PROGRESS


def test_a_kept_statement_is_built_once_and_a_big_batchs_each_time():
    from core.rawrows import kept

    builds = []
    for _ in range(3):
        assert kept(("test.kept", "small"), lambda: builds.append("small") or "S", rows=2) == "S"
        assert kept(("test.kept", "big"), lambda: builds.append("big") or "B", rows=17) == "B"
    assert builds == ["small", "big", "big", "big"]


def test_db_values_are_the_fields_own_prepared_values():
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext_lazy

    from accounts.models import Customer
    from core.rawrows import db_values, wrapper
    from payments.models import Payment

    class Level(models.TextChoices):
        HIGH = "high"

    now = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)
    samples = {str: "plain é", type(Level.HIGH): Level.HIGH, type(gettext_lazy("x")): gettext_lazy("lazy"),
               type(None): None, int: 2**40, bool: True, dt.datetime: now, dict: {"k": [1, "é"]}}
    db = wrapper()
    compared = 0
    for model in (Payment, Customer, AuditEvent, Event, IdempotencyRecord):
        for field in model._meta.concrete_fields:
            for value in samples.values():
                try:
                    expected = field.get_db_prep_save(value, db)
                except (TypeError, ValueError, AttributeError, ValidationError):
                    continue  # a value this field cannot take at all
                [got] = db_values([field], [value], db)
                # psycopg's Jsonb wrapper has no equality of its own: compared by what it wraps.
                assert (type(got), getattr(got, "obj", got)) == (type(expected), getattr(expected, "obj", expected)), (
                    model, field.name, value)
                compared += 1
    assert compared > 200


def _audit(action="wallet.created", **extra):
    return AuditEvent(occurred_at=NOW, action=action, actor_type="system", actor_id="t", details={"n": 1}, **extra)


def _event(object_id="obj_1"):
    return Event(type="wallet.created", created=NOW, object_type="wallet", object_id=object_id, data={"k": "é"},
                 actor_type="system", actor_id="t")


def test_groups_written_together_are_one_statement_on_postgresql_and_read_as_written():
    audits, events = [_audit(), _audit()], [_event("a"), _event("b"), _event("c")]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        insert_together(audits, [], events)
    sent = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(sent) == 1 and sent[0].startswith('WITH w0 AS (INSERT INTO "core_auditevent"')
    else:
        assert [sql.split(" (")[0] for sql in sent] == ['INSERT INTO "core_auditevent"', 'INSERT INTO "core_event"']
    for obj in (*audits, *events):
        assert not obj._state.adding and obj._state.db == "default"
    assert [_fields(AuditEvent.objects.get(pk=a.pk))["details"] for a in audits] == [{"n": 1}, {"n": 1}]
    stored = {e.pk: _fields(e) for e in Event.objects.filter(pk__in=[e.pk for e in events])}
    assert stored == {e.pk: _fields(e) for e in events}


def test_a_failing_row_fails_the_statement_and_writes_nothing_of_the_other_groups():
    taken = _event("taken")
    insert(taken)
    duplicate = _event("again")
    duplicate.pk = taken.pk
    before = (AuditEvent.objects.count(), Event.objects.count())
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries, pytest.raises(IntegrityError):
            insert_together([_audit()], [_event("first"), duplicate])
        # As after the ORM's save: the block cannot go on as if nothing happened (it rolls back at its end).
        assert transaction.get_rollback() is True
    if connection.vendor == "postgresql":
        assert len(queries) == 1  # the combined statement itself failed
    assert (AuditEvent.objects.count(), Event.objects.count()) == before


def test_a_later_group_may_refer_to_the_keys_an_earlier_group_gets():
    from accounts.models import BackupCode, BackupCodeDevice, User

    device = BackupCodeDevice(user=User.objects.create(username="backup-owner"), name="backup")
    code = BackupCode(device=device, digest="a" * 64)
    with transaction.atomic():
        insert_together([device], [code])
    assert isinstance(device.pk, int) and BackupCode.objects.get(pk=code.pk).device_id == device.pk


def test_the_last_groups_returned_keys_come_back_from_the_one_statement():
    audit, records = _audit(), [_record("k-first"), _record("k-second")]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        insert_together([audit], records)
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert all(isinstance(record.pk, int) for record in records) and records[0].pk != records[1].pk
    assert [IdempotencyRecord.objects.get(pk=record.pk).key for record in records] == ["k-first", "k-second"]
    assert AuditEvent.objects.filter(pk=audit.pk).count() == 1


def test_a_group_with_a_returned_key_before_the_last_goes_group_by_group():
    record, audit = _record("k-returned"), _audit()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        insert_together([record], [audit])
    assert len(queries) == 2  # the record's key comes back from its own INSERT, as a later group may refer to it
    assert isinstance(record.pk, int) and IdempotencyRecord.objects.get(pk=record.pk).key == "k-returned"


def test_a_group_of_two_models_is_refused_before_anything_is_written():
    with pytest.raises(TypeError), transaction.atomic():
        insert_together([_audit()], [_event(), _audit()])
    assert AuditEvent.objects.count() == Event.objects.count() == 0


def _status_update(*keys) -> Changes:
    table = IdempotencyRecord._meta.db_table
    return Changes(((f"UPDATE {table} SET response_status = 299 WHERE key IN ({', '.join(['%s'] * len(keys))}) "
                     "RETURNING 1", list(keys)),), rows=len(keys))


def _statuses() -> dict[str, int]:
    return dict(IdempotencyRecord.objects.values_list("key", "response_status"))


@pytest.mark.postgres
def test_leading_changes_go_first_in_the_same_statement_and_their_count_is_checked():
    insert_many([_record("k-old-1"), _record("k-old-2")])
    audit, records = _audit(), [_record("k-new-1"), _record("k-new-2")]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        insert_together([audit], records, leading=_status_update("k-old-1", "k-old-2"))
    assert len(queries) == 1 and queries[0]["sql"].startswith('WITH w0 AS (UPDATE core_idempotencyrecord')
    assert all(isinstance(record.pk, int) for record in records)  # the keys, beside the count in each row
    assert _statuses() == {"k-old-1": 299, "k-old-2": 299, "k-new-1": 201, "k-new-2": 201}
    assert AuditEvent.objects.filter(pk=audit.pk).count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("last", ["audit", "record"])
def test_leading_changes_that_touch_another_count_fail_the_statement_and_write_nothing(last):
    insert(_record("k-old"))
    rows = [_audit()] if last == "audit" else [_record("k-new")]
    before = (AuditEvent.objects.count(), _statuses())
    with pytest.raises(RuntimeError, match="touched 1 rows where 2 are locked"), transaction.atomic():
        insert_together(rows, leading=_status_update("k-old", "k-missing"))
    assert (AuditEvent.objects.count(), _statuses()) == before


@pytest.mark.postgres
def test_leading_changes_go_on_their_own_where_the_groups_cannot_be_combined():
    from core.rawrows import run

    insert(_record("k-old"))
    record, audit = _record("k-returned"), _audit()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        insert_together([record], [audit], leading=_status_update("k-old"))
        run(Changes((("INSERT INTO core_event (id) SELECT 'x' WHERE false", []),
                     (f"UPDATE {IdempotencyRecord._meta.db_table} SET response_status = 298 WHERE key = %s",
                      ["k-old"]))))
    assert [q["sql"].split(" ")[0] for q in queries.captured_queries] == ["UPDATE", "INSERT", "INSERT", "WITH"]
    assert _statuses() == {"k-old": 298, "k-returned": 201}


def _set_status(key: str, status: int, *, guarded: bool = False) -> Changes:
    """Locks the record of `key` in one part and sets its status from what that part read in the next."""
    table = IdempotencyRecord._meta.db_table
    return Changes(((f"SELECT id FROM {table} WHERE key = %s FOR UPDATE", [key]),
                    (f"UPDATE {table} r SET response_status = %s FROM {Changes.ref(0)} l WHERE r.id = l.id RETURNING 1",
                     [status])), rows=1, guarded=frozenset({1}) if guarded else frozenset())


@pytest.mark.postgres
def test_parts_refer_to_earlier_parts_of_their_own_changes_wherever_they_land():
    from core.rawrows import run

    insert_many([_record("k-one"), _record("k-two")])
    combined = _set_status("k-one", 297) + _set_status("k-two", 296, guarded=True)
    assert combined.guarded == frozenset({3}) and combined.counted == ((1, 1), (3, 1))
    assert "FROM __part0__ l" in combined.parts[1][0] and "FROM __part2__ l" in combined.parts[3][0]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        run(combined)
    assert "FROM c2 l" in queries[0]["sql"] and "FROM c0 l" in queries[0]["sql"]
    assert _statuses() == {"k-one": 297, "k-two": 296}
    with transaction.atomic():
        insert_together([_audit()], leading=_set_status("k-two", 295))
    assert _statuses() == {"k-one": 297, "k-two": 295}


@pytest.mark.postgres
@pytest.mark.parametrize("together", [False, True])
def test_a_guarded_part_that_falls_short_is_a_retryable_guard_failure_and_any_other_a_defect(together):
    from core.db import is_retryable
    from core.rawrows import GuardFailed, run

    insert(_record("k-old"))
    before = (AuditEvent.objects.count(), _statuses())

    def send(changes):
        if together:
            insert_together([_audit()], leading=changes)
        else:
            run(changes)

    with pytest.raises(GuardFailed, match="touched 0 of its 1 rows") as refused, transaction.atomic():
        send(_set_status("k-missing", 290, guarded=True) + _set_status("k-old", 291))
    assert is_retryable(refused.value)
    with pytest.raises(RuntimeError, match="touched 0 rows where 1 are locked"), transaction.atomic():
        send(_set_status("k-missing", 290))
    assert (AuditEvent.objects.count(), _statuses()) == before
