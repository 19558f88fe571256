"""The sealer and the chain verification: seq and hashes, `verify_audit_chain`, and the chain
detecting an altered, a deleted and an inserted event (tampered with behind the trigger's back)."""

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django_celery_beat.models import PeriodicTask

from compliance.chain import GENESIS, event_hash, seal_pending, verify_chain
from compliance.models import AuditChainCheck
from compliance.signals import audit_chain_broken
from compliance.tasks import SEAL_TASK, VERIFY_TASK, verify_audit_chain
from config.celery import app
from core.models import AuditEvent

from .chainkit import behind_the_trigger, chain, raw, record, run_verify, seal_all

transactional = pytest.mark.django_db(transaction=True)


@transactional
def test_the_sealer_chains_events_in_time_order_with_sha256_over_canonical_content():
    late = record(5)
    early = record(1, note="naïve ✓")
    assert AuditEvent.objects.filter(seq__isnull=False).count() == 0
    assert seal_all() == 2
    assert chain() == [(1, early.id), (2, late.id)]
    first = AuditEvent.objects.get(pk=early.id)
    content = (
        '{"action":"customer.created","actor_id":"tests","actor_label":"tests","actor_type":"system",'
        f'"details":{{"note":"naïve ✓"}},"id":"{early.id}","ip_address":null,"object_id":"cus_1",'
        '"object_type":"accounts.customer","occurred_at":"2026-06-01T09:01:00.000000Z","outcome":"success",'
        '"request_id":"","user_agent":""}')
    expected = hashlib.sha256(f"{GENESIS}\n{content}".encode()).hexdigest()
    assert (first.prev_hash, first.hash) == (GENESIS, expected)
    second = AuditEvent.objects.get(pk=late.id)
    assert second.prev_hash == expected
    assert second.hash == event_hash(expected, {**json.loads(content), "id": late.id, "object_id": "cus_5",
                                                "details": {"n": 5},
                                                "occurred_at": "2026-06-01T09:05:00.000000Z"})


@transactional
def test_the_sealer_continues_after_the_last_sealed_event_and_leaves_sealed_rows_alone():
    one = record(1)
    seal_all()
    before = AuditEvent.objects.get(pk=one.id)
    two = record(0)  # earlier in time, but committed after the first was sealed: it comes after
    assert seal_all() == 1
    assert chain() == [(1, one.id), (2, two.id)]
    assert AuditEvent.objects.get(pk=two.id).prev_hash == before.hash
    assert AuditEvent.objects.get(pk=one.id).hash == before.hash
    assert seal_pending() == 0


@transactional
def test_seal_audit_command_says_how_many():
    record(1)
    record(2)
    out = io.StringIO()
    call_command("seal_audit", stdout=out)
    sealed = int(out.getvalue().split()[1])
    assert sealed + seal_all() == 2  # (PostgreSQL may hold a row back while another transaction runs)
    assert [seq for seq, _ in chain()] == [1, 2]


def test_xact_id_is_the_inserting_transaction_on_postgresql_for_single_and_bulk_inserts(db):
    from core.audit import audit_build
    from core.context import Actor

    one = record(1)
    AuditEvent.objects.bulk_create([audit_build(action="customer.created", actor=Actor.system("tests"),
                                                object_id=f"cus_b{i}") for i in range(2)])
    ids = list(AuditEvent.objects.order_by("object_id").values_list("object_id", "xact_id"))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            current = cursor.fetchone()[0]
        assert ids == [("cus_1", current), ("cus_b0", current), ("cus_b1", current)]  # the test's transaction
    else:
        assert ids == [("cus_1", None), ("cus_b0", None), ("cus_b1", None)]
    assert one.seq is None


@transactional
def test_an_intact_chain_verifies_and_the_command_prints_one_json_line():
    for minute in range(3):
        record(minute)
    seal_all()
    assert verify_chain().as_dict() == {"intact": True, "count": 3, "first_broken_event_id": None, "reason": None}
    assert run_verify() == (0, {"intact": True, "count": 3, "first_broken_event_id": None, "reason": None})
    assert run_verify("--include-archives") == (0, {"intact": True, "count": 3, "first_broken_event_id": None,
                                                    "reason": None})


@transactional
def test_an_empty_trail_is_intact():
    assert run_verify() == (0, {"intact": True, "count": 0, "first_broken_event_id": None, "reason": None})


def _four_sealed():
    events = [record(minute) for minute in range(4)]
    seal_all()
    return events


@transactional
def test_an_altered_event_is_found():
    events = _four_sealed()
    with behind_the_trigger():
        raw("UPDATE core_auditevent SET details = %s WHERE id = %s", ['{"n": 99}', events[1].id])
    assert run_verify() == (1, {"intact": False, "count": 4, "first_broken_event_id": events[1].id,
                                "reason": "altered"})


@transactional
def test_an_altered_hash_is_found():
    events = _four_sealed()
    with behind_the_trigger():
        raw("UPDATE core_auditevent SET hash = %s WHERE id = %s", ["f" * 64, events[2].id])
    assert run_verify() == (1, {"intact": False, "count": 4, "first_broken_event_id": events[2].id,
                                "reason": "altered"})


@transactional
def test_a_deleted_event_is_found_at_the_event_after_it():
    events = _four_sealed()
    with behind_the_trigger():
        raw("DELETE FROM core_auditevent WHERE id = %s", [events[1].id])
    assert run_verify() == (1, {"intact": False, "count": 3, "first_broken_event_id": events[2].id,
                                "reason": "missing"})


@transactional
def test_a_deleted_first_event_is_found():
    events = _four_sealed()
    with behind_the_trigger():
        raw("DELETE FROM core_auditevent WHERE id = %s", [events[0].id])
    assert run_verify() == (1, {"intact": False, "count": 3, "first_broken_event_id": events[1].id,
                                "reason": "missing"})


@transactional
def test_a_deleted_event_with_the_later_ones_renumbered_is_found():
    events = _four_sealed()
    with behind_the_trigger():
        raw("DELETE FROM core_auditevent WHERE id = %s", [events[1].id])
        raw("UPDATE core_auditevent SET seq = -seq WHERE seq > 2")
        raw("UPDATE core_auditevent SET seq = -seq - 1 WHERE seq < 0")
    assert [seq for seq, _ in chain()] == [1, 2, 3]
    assert run_verify() == (1, {"intact": False, "count": 3, "first_broken_event_id": events[2].id,
                                "reason": "missing"})


@transactional
def test_an_event_slipped_into_the_chain_is_found():
    events = _four_sealed()
    second = AuditEvent.objects.get(pk=events[1].id)
    forged = record(1, forged=True)  # unsealed for now: hashed as if it followed the second event
    with behind_the_trigger():
        raw("UPDATE core_auditevent SET seq = -seq WHERE seq > 2")
        raw("UPDATE core_auditevent SET seq = -seq + 1 WHERE seq < 0")
        content = _content_of(forged.id)
        raw("UPDATE core_auditevent SET seq = 3, prev_hash = %s, hash = %s WHERE id = %s",
            [second.hash, event_hash(second.hash, content), forged.id])
    assert [seq for seq, _ in chain()] == [1, 2, 3, 4, 5]
    assert run_verify() == (1, {"intact": False, "count": 5, "first_broken_event_id": forged.id,
                                "reason": "inserted"})


@pytest.mark.postgres
@transactional
def test_on_postgresql_a_row_written_with_the_triggers_off_is_found_unsealed():
    _four_sealed()
    with behind_the_trigger():
        raw("INSERT INTO core_auditevent (id, occurred_at, action, outcome, actor_type, actor_id, actor_label, "
            "object_type, object_id, request_id, user_agent, details) VALUES ('aud_forged', now(), "
            "'customer.created', 'success', 'system', 'x', 'x', '', '', '', '', '{}')")
    assert seal_pending() == 0  # no transaction id: never sealed
    assert run_verify() == (1, {"intact": False, "count": 4, "first_broken_event_id": "aud_forged",
                                "reason": "inserted"})


def _content_of(event_id):
    from compliance.chain import canonical_content, content_fields

    return canonical_content(AuditEvent.objects.values("id", *content_fields()).get(pk=event_id))


# --- the trigger (PostgreSQL) -----------------------------------------------------------------------------
def _refused(sql, params=None):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="append-only") as refused, transaction.atomic():
        raw(sql, params)
    return refused


def _snapshot():
    return list(AuditEvent.objects.order_by("occurred_at").values())


@pytest.mark.postgres
@transactional
@pytest.mark.parametrize(("column", "value"), [
    ("action", "customer.deleted"), ("details", '{"n": 7}'), ("occurred_at", "2020-01-01T00:00:00Z"),
    ("actor_id", "someone"), ("ip_address", "10.0.0.1"), ("xact_id", "1"),
])
def test_on_postgresql_a_plain_update_of_any_other_column_is_refused(column, value):
    events = _four_sealed()
    unsealed = record(10)
    before = _snapshot()
    for event_id in (events[0].id, unsealed.id):
        _refused(f"UPDATE core_auditevent SET {column} = %s WHERE id = %s", [value, event_id])
    # nor with the seal columns filled in the same statement (the sealer's fill changes nothing else)
    _refused(f"UPDATE core_auditevent SET {column} = %s, seq = 99, prev_hash = 'a', hash = 'b' WHERE id = %s",
             [value, unsealed.id])
    assert _snapshot() == before


@pytest.mark.postgres
@transactional
def test_on_postgresql_a_reseal_and_a_delete_are_refused():
    events = _four_sealed()
    unsealed = record(10)
    before = _snapshot()
    _refused("UPDATE core_auditevent SET hash = %s WHERE id = %s", ["f" * 64, events[1].id])
    _refused("UPDATE core_auditevent SET seq = NULL, prev_hash = NULL, hash = NULL WHERE id = %s", [events[1].id])
    _refused("UPDATE core_auditevent SET seq = 50 WHERE id = %s", [events[2].id])
    _refused("DELETE FROM core_auditevent WHERE id = %s", [events[0].id])
    _refused("DELETE FROM core_auditevent WHERE id = %s", [unsealed.id])
    # the archiver's switch alone is not enough: the rows are in no verified archive
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw("SET LOCAL compliance.archiver = 'on'")
        raw("DELETE FROM core_auditevent WHERE id = %s", [events[0].id])
    assert _snapshot() == before
    assert verify_chain().intact


# --- schedules and the nightly check --------------------------------------------------------------------
@pytest.mark.django_db
def test_the_sealer_runs_every_minute_and_the_check_nightly_from_beat_rows():
    seal = PeriodicTask.objects.get(task=SEAL_TASK)
    assert (seal.enabled, seal.crontab.minute, seal.crontab.hour) == (True, "*", "*")
    check = PeriodicTask.objects.get(task=VERIFY_TASK)
    assert (check.enabled, check.crontab.minute, check.crontab.hour) == (True, "45", "2")
    archive = PeriodicTask.objects.get(task="compliance.archive_audit")
    assert (archive.enabled, archive.crontab.minute, archive.crontab.hour) == (True, "30", "3")
    assert {SEAL_TASK, VERIFY_TASK, "compliance.archive_audit"} <= set(app.tasks)


@transactional
def test_the_nightly_check_records_the_result_and_writes_nothing_to_the_trail():
    events = _four_sealed()
    assert verify_audit_chain.apply().get() == {"intact": True, "count": 4, "first_broken_event_id": None,
                                                "reason": None}
    check = AuditChainCheck.objects.get()
    assert (check.intact, check.count, check.reason, check.first_broken_event_id, check.include_archives) == (
        True, 4, None, None, True)
    assert AuditEvent.objects.count() == 4
    with behind_the_trigger():
        raw("UPDATE core_auditevent SET action = 'customer.deleted' WHERE id = %s", [events[3].id])
    received = []

    def receiver(sender, check, **kwargs):
        received.append(check)

    audit_chain_broken.connect(receiver)
    try:
        result = verify_audit_chain.apply().get()
    finally:
        audit_chain_broken.disconnect(receiver)
    assert result == {"intact": False, "count": 4, "first_broken_event_id": events[3].id, "reason": "altered"}
    latest = AuditChainCheck.objects.latest()
    assert (latest.intact, latest.first_broken_event_id, latest.reason) == (False, events[3].id, "altered")
    assert received == [latest]
    assert AuditEvent.objects.count() == 4


@transactional
def test_the_newest_events_deleted_after_a_nightly_check_are_found():
    events = _four_sealed()
    verify_audit_chain.apply().get()
    assert AuditChainCheck.objects.get().head_seq == 4
    with behind_the_trigger():
        raw("DELETE FROM core_auditevent WHERE id IN (%s, %s)", [events[2].id, events[3].id])
    assert run_verify() == (1, {"intact": False, "count": 2, "first_broken_event_id": events[3].id,
                                "reason": "missing"})


@transactional
def test_a_rewritten_newest_event_with_its_hash_recomputed_is_found_after_a_nightly_check():
    events = _four_sealed()
    verify_audit_chain.apply().get()
    last = AuditEvent.objects.get(pk=events[3].id)
    with behind_the_trigger():
        raw("UPDATE core_auditevent SET action = 'customer.deleted' WHERE id = %s", [last.id])
        raw("UPDATE core_auditevent SET hash = %s WHERE id = %s",
            [event_hash(last.prev_hash or "", _content_of(last.id)), last.id])
    assert verify_chain().as_dict() == {"intact": False, "count": 4, "first_broken_event_id": last.id,
                                        "reason": "altered"}
