"""Retention of the audit trail: sealed events older than AUDIT_ARCHIVE_AFTER_DAYS move to gzip-compressed
JSON Lines files in AUDIT_ARCHIVE_DIR (one `AuditArchive` row each, with the file's SHA-256, the seq range
and the chain's hashes at both ends); files older than AUDIT_RETENTION_DAYS are deleted.

Each file is written, read back and compared with the rows (checksum, every event, the chain across it)
before the rows are deleted, all in one transaction holding the chain lock (the sealer waits its turn by
skipping a minute). The database trigger lets only that transaction delete them: it sets
`compliance.archiver` and the rows' seq must lie in a verified archive (docs/COMPLIANCE.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.models import AuditEvent

from .audit import ComplianceAction
from .chain import (
    ALTERED,
    MISSING,
    SEAL_FIELDS,
    ArchiveUnreadable,
    SealedRecord,
    _anchor_lookup,
    _try_chain_lock,
    _Walker,
    canonical_json,
    table_records,
)
from .models import AuditArchive
from .tasks import ARCHIVE_TASK

logger = logging.getLogger("compliance.archive")


class ArchiveMismatch(Exception):
    """The file read back differs from the rows it was written from: nothing is deleted."""


def archive_dir() -> Path:
    return Path(settings.AUDIT_ARCHIVE_DIR)


def _line(rec: SealedRecord) -> str:
    return canonical_json({**rec.content, "seq": rec.seq, "prev_hash": rec.prev_hash, "hash": rec.hash})


def _parse(line: str) -> SealedRecord:
    data = json.loads(line)
    seal = {name: data.pop(name) for name in SEAL_FIELDS}
    return SealedRecord(event_id=str(data.get("id")), seq=int(seal["seq"]), prev_hash=str(seal["prev_hash"]),
                        hash=str(seal["hash"]), content=data)


def _compress(records: list[SealedRecord]) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name: the same events always give the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        for rec in records:
            gz.write(_line(rec).encode() + b"\n")
    return buffer.getvalue()


def _read(path: Path) -> tuple[bytes, list[SealedRecord]]:
    data = path.read_bytes()
    text = gzip.decompress(data).decode()
    # split on "\n" only: JSON leaves U+2028, U+0085 and the like unescaped, and splitlines() would cut there
    return data, [_parse(line) for line in text.split("\n") if line]


def live_archives() -> list[AuditArchive]:
    """Verified archives whose file is still kept, in seq order."""
    return list(AuditArchive.objects.filter(verified_at__isnull=False, purged_at__isnull=True).order_by("first_seq"))


def archive_records(archive: AuditArchive) -> Iterator[SealedRecord]:
    """The events of an archive file, after its checksum is checked (ArchiveUnreadable otherwise)."""
    path = archive_dir() / archive.file_name
    if not path.exists():
        raise ArchiveUnreadable(MISSING, archive.first_event_id)
    try:
        data, records = _read(path)
    except (OSError, EOFError, ValueError, KeyError) as exc:  # gzip.BadGzipFile is an OSError
        raise ArchiveUnreadable(ALTERED, archive.first_event_id) from exc
    if hashlib.sha256(data).hexdigest() != archive.sha256:
        # Walk the events anyway (a precise break if one line was changed); the file is altered either way.
        walker = _Walker(lambda seq: archive.first_prev_hash if seq == archive.first_seq else None)
        for rec in records:
            walker.feed(rec)
        broken = walker.report().first_broken_event_id
        raise ArchiveUnreadable(ALTERED, broken or archive.first_event_id)
    yield from records


def _archive_range(cutoff: dt.datetime) -> tuple[int, int] | None:
    """The seq range to archive next: the table's oldest sealed events, all older than `cutoff`."""
    sealed = AuditEvent.objects.filter(seq__isnull=False)
    first = sealed.order_by("seq").values_list("seq", flat=True).first()
    if first is None:
        return None
    young = sealed.filter(occurred_at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
    last = young - 1 if young is not None else sealed.order_by("-seq").values_list("seq", flat=True).first()
    assert last is not None
    last = min(last, first + settings.AUDIT_ARCHIVE_FILE_EVENTS - 1)
    return (first, last) if last >= first else None


def _archive_chunk(cutoff: dt.datetime, actor: Actor) -> int:
    with transaction.atomic():
        if not _try_chain_lock():
            return 0
        bounds = _archive_range(cutoff)
        if bounds is None:
            return 0
        first, last = bounds
        records = list(_records_between(first, last))
        walker = _Walker(_anchor_lookup())
        for rec in records:
            walker.feed(rec)
        report = walker.report()
        if not report.intact or len(records) != last - first + 1:
            # Keep the evidence where it is: a broken stretch is never archived (verify_audit_chain says where).
            logger.error("audit archive refused: the chain is broken",
                         extra={"first_seq": first, "last_seq": last, "broken": report.as_dict()})
            return 0
        data = _compress(records)
        digest = hashlib.sha256(data).hexdigest()
        name = f"audit-{first:012d}-{last:012d}.jsonl.gz"
        directory = archive_dir()
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{name}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, directory / name)
        occurred = [rec.content["occurred_at"] for rec in records]
        now = clock.now()
        archive = AuditArchive.objects.create(
            file_name=name, sha256=digest, size=len(data), first_seq=first, last_seq=last,
            event_count=len(records), first_event_id=records[0].event_id, last_event_id=records[-1].event_id,
            first_prev_hash=records[0].prev_hash, last_hash=records[-1].hash,
            oldest_occurred_at=_parse_time(min(occurred)), newest_occurred_at=_parse_time(max(occurred)),
            created=now)
        # Read the file back: its checksum, and every event equal to its row.
        read_data, read_records = _read(directory / name)
        if hashlib.sha256(read_data).hexdigest() != digest or read_records != records:
            raise ArchiveMismatch(f"{name} does not read back as written")
        archive.verified_at = clock.now()
        archive.save(update_fields=["verified_at"])
        deleted = _delete_archived(first, last)
        if deleted != len(records):
            raise ArchiveMismatch(f"{deleted} rows deleted for {len(records)} archived")
        audit_record(action=ComplianceAction.AUDIT_EVENTS_ARCHIVED, actor=actor, obj=archive,
                     details={"first_seq": first, "last_seq": last, "events": len(records), "file": name,
                              "sha256": digest})
        return len(records)


def _records_between(first: int, last: int) -> Iterator[SealedRecord]:
    for rec in table_records(after_seq=first - 1):
        if rec.seq > last:
            return
        yield rec


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def _delete_archived(first: int, last: int) -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL compliance.archiver = 'on'")
    try:
        deleted, _ = AuditEvent.objects.filter(seq__gte=first, seq__lte=last).delete()
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL compliance.archiver = 'off'")
    return int(deleted)


def archive_due(*, actor: Actor | None = None) -> int:
    """Moves every sealed event older than AUDIT_ARCHIVE_AFTER_DAYS to archive files; returns how many."""
    actor = actor or Actor.for_task(ARCHIVE_TASK)
    cutoff = clock.now() - dt.timedelta(days=settings.AUDIT_ARCHIVE_AFTER_DAYS)
    total = 0
    while True:
        moved = _archive_chunk(cutoff, actor)
        if not moved:
            return total
        total += moved


def purge_expired_archives(*, actor: Actor | None = None) -> int:
    """Deletes archive files whose newest event is older than AUDIT_RETENTION_DAYS (their rows stay,
    marked purged: they anchor the chain after them); returns how many."""
    actor = actor or Actor.for_task(ARCHIVE_TASK)
    cutoff = clock.now() - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    purged = 0
    for archive in AuditArchive.objects.filter(purged_at__isnull=True, newest_occurred_at__lt=cutoff).order_by(
            "first_seq"):
        with transaction.atomic():
            path = archive_dir() / archive.file_name
            transaction.on_commit(functools.partial(path.unlink, missing_ok=True))
            archive.purged_at = clock.now()
            archive.save(update_fields=["purged_at"])
            audit_record(action=ComplianceAction.AUDIT_ARCHIVE_PURGED, actor=actor, obj=archive,
                         details={"first_seq": archive.first_seq, "last_seq": archive.last_seq,
                                  "file": archive.file_name})
        purged += 1
    return purged
