"""Retention of the audit trail: sealed events past AUDIT_ARCHIVE_AFTER_DAYS move to gzip JSON Lines files
(checksummed, read back before the rows go), `verify_audit_chain --include-archives` verifies across them,
files past AUDIT_RETENTION_DAYS are deleted, and only the archiver may delete archived rows."""

import datetime as dt
import gzip
import hashlib
import json

import pytest
from django.db import DatabaseError, transaction

from compliance.archive import archive_due, purge_expired_archives
from compliance.chain import canonical_content, content_fields, verify_chain
from compliance.models import AuditArchive
from compliance.tasks import archive_audit
from core import clock
from core.models import AuditEvent

from .chainkit import BASE, behind_the_trigger, chain, raw, record, run_verify, seal_all

pytestmark = pytest.mark.django_db(transaction=True)

LATER = BASE + dt.timedelta(days=100)  # "now" of the archive run: BASE's events are past 90 days
FILE = "audit-000000000001-000000000003.jsonl.gz"


@pytest.fixture
def archive_dir(settings, tmp_path):
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "audit"
    return settings.AUDIT_ARCHIVE_DIR


def _setup():
    old = [record(0), record(1, note="line\u2028separator\x85next ✓"), record(2)]
    young = [record(at=BASE + dt.timedelta(days=95, minutes=minute)) for minute in range(2)]
    seal_all()
    return old, young


def _rows(ids):
    return [{**canonical_content(row), "seq": row["seq"], "prev_hash": row["prev_hash"], "hash": row["hash"]}
            for row in AuditEvent.objects.filter(pk__in=ids).order_by("seq").values(
                "seq", "prev_hash", "hash", *content_fields())]


def _lines(path):
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().split("\n") if line]


def test_sealed_events_past_the_cutoff_move_to_a_verified_checksummed_file(archive_dir):
    old, young = _setup()
    expected_lines = _rows([e.id for e in old])
    with clock.frozen_at(LATER):
        assert archive_due() == 3
    archive = AuditArchive.objects.get()
    path = archive_dir / FILE
    assert (archive.file_name, archive.first_seq, archive.last_seq, archive.event_count, archive.first_event_id,
            archive.last_event_id, archive.sha256, archive.size, archive.verified_at, archive.purged_at) == (
        FILE, 1, 3, 3, old[0].id, old[2].id, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size,
        LATER, None)
    assert (archive.oldest_occurred_at, archive.newest_occurred_at) == (BASE, BASE + dt.timedelta(minutes=2))
    assert (archive.first_prev_hash, archive.last_hash) == ("0" * 64, expected_lines[-1]["hash"])
    assert _lines(path) == expected_lines
    remaining = AuditEvent.objects.order_by("occurred_at")
    assert [(e.id, e.seq) for e in remaining] == [(young[0].id, 4), (young[1].id, 5),
                                                  (remaining.last().id, None)]
    audit = remaining.last()
    assert (audit.action, audit.actor_id, audit.object_id, audit.details) == (
        "audit.events_archived", "compliance.archive_audit", archive.id,
        {"first_seq": 1, "last_seq": 3, "events": 3, "file": FILE, "sha256": archive.sha256})
    seal_all()
    assert verify_chain().as_dict() == {"intact": True, "count": 3, "first_broken_event_id": None, "reason": None}
    assert run_verify("--include-archives") == (0, {"intact": True, "count": 6, "first_broken_event_id": None,
                                                    "reason": None})
    with clock.frozen_at(LATER):
        assert archive_due() == 0  # nothing else is old enough


def test_the_daily_task_archives_then_purges(archive_dir):
    _setup()
    with clock.frozen_at(LATER):
        assert archive_audit.apply().get() == {"archived": 3, "purged": 0}


def test_unsealed_events_are_not_archived(archive_dir):
    record(0)
    with clock.frozen_at(LATER):
        assert archive_due() == 0
    assert AuditArchive.objects.count() == 0
    assert AuditEvent.objects.count() == 1


def test_files_hold_at_most_the_configured_events_each(archive_dir, settings):
    settings.AUDIT_ARCHIVE_FILE_EVENTS = 2
    old, _ = _setup()
    with clock.frozen_at(LATER):
        assert archive_due() == 3
    assert list(AuditArchive.objects.values_list("first_seq", "last_seq", "first_event_id")) == [
        (1, 2, old[0].id), (3, 3, old[2].id)]
    seal_all()
    assert verify_chain(include_archives=True).as_dict() == {"intact": True, "count": 7,
                                                             "first_broken_event_id": None, "reason": None}


def test_a_broken_stretch_is_never_archived(archive_dir):
    old, _ = _setup()
    with behind_the_trigger():
        raw("UPDATE core_auditevent SET details = %s WHERE id = %s", ['{"n": 42}', old[1].id])
    with clock.frozen_at(LATER):
        assert archive_due() == 0
    assert AuditArchive.objects.count() == 0
    assert AuditEvent.objects.count() == 5
    assert not archive_dir.exists() or list(archive_dir.iterdir()) == []


def _archived():
    old, young = _setup()
    with clock.frozen_at(LATER):
        archive_due()
    seal_all()
    return old, young


def test_an_altered_line_in_an_archive_file_is_found(archive_dir):
    old, _ = _archived()
    path = archive_dir / FILE
    lines = _lines(path)
    lines[1]["details"] = {"n": 77}
    path.write_bytes(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))
    assert run_verify("--include-archives") == (1, {"intact": False, "count": 6, "first_broken_event_id": old[1].id,
                                                    "reason": "altered"})
    assert run_verify() == (0, {"intact": True, "count": 3, "first_broken_event_id": None, "reason": None})


def test_a_corrupt_or_missing_archive_file_is_found(archive_dir):
    old, _ = _archived()
    path = archive_dir / FILE
    path.write_bytes(path.read_bytes()[:-9])
    assert run_verify("--include-archives") == (1, {"intact": False, "count": 6, "first_broken_event_id": old[0].id,
                                                    "reason": "altered"})
    path.unlink()
    assert run_verify("--include-archives") == (1, {"intact": False, "count": 6, "first_broken_event_id": old[0].id,
                                                    "reason": "missing"})


def test_an_event_deleted_from_the_table_after_an_archive_is_found(archive_dir):
    _, young = _archived()
    with behind_the_trigger():
        raw("DELETE FROM core_auditevent WHERE id = %s", [young[0].id])
    assert run_verify() == (1, {"intact": False, "count": 2, "first_broken_event_id": young[1].id,
                                "reason": "missing"})


def test_archive_files_past_retention_are_deleted_and_the_chain_still_verifies(archive_dir):
    _archived()
    with clock.frozen_at(BASE + dt.timedelta(days=365)):
        assert purge_expired_archives() == 0
    moment = BASE + dt.timedelta(days=365, minutes=3)
    with clock.frozen_at(moment):
        assert purge_expired_archives() == 1
    archive = AuditArchive.objects.get()
    assert archive.purged_at == moment
    assert not (archive_dir / FILE).exists()
    purge = AuditEvent.objects.get(action="audit.archive_purged")
    assert (purge.object_id, purge.details) == (archive.id, {"first_seq": 1, "last_seq": 3, "file": FILE})
    seal_all()
    assert run_verify("--include-archives") == (0, {"intact": True, "count": 4, "first_broken_event_id": None,
                                                    "reason": None})
    with clock.frozen_at(moment):
        assert purge_expired_archives() == 0


def test_the_sealer_continues_the_chain_after_everything_is_archived(archive_dir):
    old = [record(minute) for minute in range(2)]
    seal_all()
    with behind_the_trigger():  # the archive run's own event, which would stay, is not wanted here
        with clock.frozen_at(LATER):
            assert archive_due() == 2
        raw("DELETE FROM core_auditevent WHERE action = 'audit.events_archived'")
    new = record(at=LATER)
    seal_all()
    archive = AuditArchive.objects.get()
    assert chain() == [(3, new.id)]
    assert AuditEvent.objects.get(pk=new.id).prev_hash == archive.last_hash
    assert archive.last_event_id == old[1].id
    assert verify_chain(include_archives=True).as_dict() == {"intact": True, "count": 3,
                                                             "first_broken_event_id": None, "reason": None}


# --- the trigger lets only the archiver delete, only archived rows (PostgreSQL) ---------------------------
@pytest.mark.postgres
def test_on_postgresql_only_the_archiver_deletes_only_rows_in_a_verified_archive():
    events = [record(minute) for minute in range(3)]
    seal_all()
    first = AuditEvent.objects.get(pk=events[0].id)
    archive = AuditArchive.objects.create(
        file_name="x.jsonl.gz", sha256="0" * 64, size=1, first_seq=1, last_seq=1, event_count=1,
        first_event_id=first.id, last_event_id=first.id, first_prev_hash="0" * 64, last_hash=first.hash,
        oldest_occurred_at=first.occurred_at, newest_occurred_at=first.occurred_at, created=LATER)

    def delete(event_id, archiver):
        with transaction.atomic():
            if archiver:
                raw("SET LOCAL compliance.archiver = 'on'")
            return raw("DELETE FROM core_auditevent WHERE id = %s", [event_id])

    with pytest.raises(DatabaseError, match="append-only"):
        delete(first.id, archiver=True)  # the archive is not verified yet
    AuditArchive.objects.filter(pk=archive.pk).update(verified_at=LATER)
    with pytest.raises(DatabaseError, match="append-only"):
        delete(first.id, archiver=False)
    with pytest.raises(DatabaseError, match="append-only"):
        delete(events[1].id, archiver=True)  # not in the archive
    assert AuditEvent.objects.count() == 3
    assert delete(first.id, archiver=True) == 1
    assert list(AuditEvent.objects.order_by("seq").values_list("id", flat=True)) == [events[1].id, events[2].id]
