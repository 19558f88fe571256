"""The sealed audit chain: the sealer (`seal_pending`) and its verification (`verify_chain`).

Each sealed event carries `seq` (1, 2, 3, ... with no gap), `prev_hash` (the previous event's
`hash`, `GENESIS` for seq 1) and `hash = SHA-256(prev_hash + "\\n" + canonical content)`, the
content being every column but the seal columns and `xact_id`, as canonical JSON (keys sorted, no
spaces, datetimes in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`). Writers only INSERT; the sealer fills
the seal columns later, once per row, so no writer ever waits on it.

On PostgreSQL the sealer seals only rows whose inserting transaction (`xact_id`, set by a trigger)
is older than its snapshot's `xmin`: every such transaction has ended, so no row can commit later
with a place before a sealed one. A transaction still open (any transaction on the server) holds
sealing back until it ends. One sealer at a time (a transaction-level advisory lock, tried, never
waited for). SQLite has no transaction ids: it seals what it sees. docs/COMPLIANCE.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL

from core.models import AuditEvent

GENESIS = "0" * 64
SEAL_FIELDS = ("seq", "prev_hash", "hash")
NOT_CONTENT = frozenset((*SEAL_FIELDS, "xact_id"))
# pg_try_advisory_xact_lock key shared by the sealer and the archiver (one of them at a time).
CHAIN_LOCK_KEY = 0x5EA1_0A0D
SEAL_BATCH = 2000

ALTERED, MISSING, INSERTED = "altered", "missing", "inserted"


def content_fields() -> list[str]:
    """The attribute names hashed: every concrete column of AuditEvent but the seal columns and xact_id."""
    return [f.attname for f in AuditEvent._meta.concrete_fields if f.attname not in NOT_CONTENT]


def _canonical_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical_content(row: dict[str, Any]) -> dict[str, Any]:
    """The hashed content of a row read from the database (`values(*content_fields())`)."""
    return {name: _canonical_value(row[name]) for name in content_fields()}


def canonical_json(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(content)}".encode()).hexdigest()


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _try_chain_lock() -> bool:
    """Inside a transaction: True when this transaction now holds the chain lock (PostgreSQL)."""
    if not _is_postgres():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def chain_head() -> tuple[int, str]:
    """(seq, hash) of the last sealed event, in the table or (everything archived) the last archive;
    (0, GENESIS) before the first."""
    from .models import AuditArchive

    best: tuple[int, str] = (0, GENESIS)
    head = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
    if head is not None and head[0] is not None:
        best = (head[0], head[1] or "")
    archived = AuditArchive.objects.order_by("-last_seq").values_list("last_seq", "last_hash").first()
    if archived is not None and archived[0] > best[0]:
        best = archived
    return best


def _sealable() -> Any:
    rows = AuditEvent.objects.filter(seq__isnull=True)
    if _is_postgres():
        # Only rows whose transaction ended before this statement's snapshot: nothing older can commit later.
        rows = rows.alias(horizon=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", [])).filter(
            xact_id__lt=F("horizon"))
    return rows.order_by("occurred_at", "id")


def _seal_batch() -> int | None:
    """Seals up to SEAL_BATCH rows in one transaction; None when another sealer holds the lock."""
    with transaction.atomic():
        if not _try_chain_lock():
            return None
        seq, prev = chain_head()
        rows = list(_sealable().values("id", *content_fields())[:SEAL_BATCH])
        events = []
        for row in rows:
            seq += 1
            digest = event_hash(prev, canonical_content(row))
            events.append(AuditEvent(id=row["id"], seq=seq, prev_hash=prev, hash=digest))
            prev = digest
        AuditEvent.objects.bulk_update(events, list(SEAL_FIELDS), batch_size=500)
        return len(events)


def seal_pending() -> int:
    """Seals every event that can be sealed now, in batches; returns how many (0 when another
    sealer is running)."""
    total = 0
    while True:
        sealed = _seal_batch()
        if not sealed:
            return total
        total += sealed
        if sealed < SEAL_BATCH:
            return total


# --- verification -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainReport:
    intact: bool
    count: int
    first_broken_event_id: str | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SealedRecord:
    event_id: str
    seq: int
    prev_hash: str
    hash: str
    content: dict[str, Any]


class ArchiveUnreadable(Exception):
    """An archive file is missing or does not match its checksum (reason, first event id)."""

    def __init__(self, reason: str, event_id: str) -> None:
        super().__init__(f"{reason}: {event_id}")
        self.reason = reason
        self.event_id = event_id


class _Walker:
    """Walks sealed records in seq order and remembers the first break."""

    def __init__(self, anchor_for: Any, known_head: tuple[int, str, str] | None = None) -> None:
        self.anchor_for = anchor_for  # seq -> the hash expected before it, or None
        self.known_head = known_head  # (seq, event id, hash) of the chain's end at an earlier intact check
        self.count = 0
        self.broken: tuple[str, str] | None = None
        self.prev: SealedRecord | None = None
        self.before_prev: str | None = None

    def _break(self, event_id: str, reason: str) -> None:
        if self.broken is None:
            self.broken = (event_id, reason)

    def feed(self, rec: SealedRecord) -> None:
        self.count += 1
        if self.broken is not None:
            self.prev = rec
            return
        self_ok = rec.hash == event_hash(rec.prev_hash, rec.content)
        prev = self.prev
        if prev is None:
            expected = self.anchor_for(rec.seq)
            links = expected is not None and rec.prev_hash == expected
            contiguous = True
        else:
            expected = prev.hash
            links = rec.prev_hash == prev.hash
            contiguous = rec.seq == prev.seq + 1
        if links:
            if not self_ok:
                self._break(rec.event_id, ALTERED)
            elif not contiguous:
                self._break(rec.event_id, MISSING)
        elif prev is not None and self.before_prev is not None and rec.prev_hash == self.before_prev:
            # The chain goes on from the event before `prev`: `prev` was slipped in.
            self._break(prev.event_id, INSERTED)
        elif not self_ok:
            self._break(rec.event_id, ALTERED)
        else:
            self._break(rec.event_id, MISSING)
        if self.known_head is not None and rec.seq == self.known_head[0] and rec.hash != self.known_head[2]:
            self._break(rec.event_id, ALTERED)  # the chain was rewritten from here on since the last check
        self.before_prev = prev.hash if prev is not None else expected
        self.prev = rec

    def report(self) -> ChainReport:
        if self.broken is None:
            return ChainReport(intact=True, count=self.count, first_broken_event_id=None, reason=None)
        return ChainReport(intact=False, count=self.count, first_broken_event_id=self.broken[0],
                           reason=self.broken[1])


def table_records(*, after_seq: int = 0) -> Iterator[SealedRecord]:
    rows = (AuditEvent.objects.filter(seq__isnull=False, seq__gt=after_seq).order_by("seq")
            .values("id", *SEAL_FIELDS, *content_fields()))
    for row in rows.iterator(chunk_size=2000):
        yield SealedRecord(event_id=row["id"], seq=row["seq"], prev_hash=row["prev_hash"] or "",
                           hash=row["hash"] or "", content=canonical_content(row))


def _anchor_lookup() -> Any:
    from .models import AuditArchive

    ends = dict(AuditArchive.objects.values_list("last_seq", "last_hash"))

    def anchor_for(seq: int) -> str | None:
        return GENESIS if seq == 1 else ends.get(seq - 1)

    return anchor_for


def _walk(walker: _Walker, records: Iterable[SealedRecord]) -> None:
    for rec in records:
        walker.feed(rec)


def _forged_unsealed() -> str | None:
    """On PostgreSQL every inserted row gets its transaction id from the trigger: an unsealed row
    without one was written with the triggers off, and is never sealed."""
    if not _is_postgres():
        return None
    return AuditEvent.objects.filter(seq__isnull=True, xact_id__isnull=True).order_by("occurred_at", "id").values_list(
        "id", flat=True).first()


def verify_chain(*, include_archives: bool = False) -> ChainReport:
    return verify_chain_head(include_archives=include_archives)[0]


def verify_chain_head(*, include_archives: bool = False) -> tuple[ChainReport, SealedRecord | None]:
    """Recomputes the chain of sealed events in the table (and, with `include_archives`, in every
    archive file not yet past retention, first). Reports the first break: `altered` (an event's
    content or hashes do not match), `missing` (an event that should precede one is gone) or
    `inserted` (an event the chain goes on without). The chain's end recorded by the last intact
    nightly check must still be there with the same hash (else `missing` / `altered`). Also returns
    the last sealed event read (the chain's head), which the nightly check records."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and _is_postgres():
            # One snapshot for the archive rows and the table (the archiver may move rows meanwhile).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _verify(include_archives=include_archives)


def _known_head() -> tuple[int, str, str] | None:
    from .models import AuditChainCheck

    last = (AuditChainCheck.objects.filter(intact=True, head_seq__isnull=False).order_by("-started_at")
            .values_list("head_seq", "head_event_id", "head_hash").first())
    return None if last is None or last[0] is None else (last[0], last[1], last[2])


def _verify(*, include_archives: bool) -> tuple[ChainReport, SealedRecord | None]:
    from .models import AuditArchive

    known_head = _known_head()
    walker = _Walker(_anchor_lookup(), known_head)
    after_seq = 0
    if include_archives:
        from .archive import archive_records, live_archives

        for archive in live_archives():
            try:
                _walk(walker, archive_records(archive))
            except ArchiveUnreadable as unreadable:
                walker._break(unreadable.event_id, unreadable.reason)
                walker.count += archive.event_count
            after_seq = archive.last_seq
    _walk(walker, table_records(after_seq=after_seq))
    forged = _forged_unsealed()
    if forged is not None:
        walker._break(forged, INSERTED)
    if known_head is not None:
        archived = AuditArchive.objects.order_by("-last_seq").values_list("last_seq", flat=True).first() or 0
        if max(walker.prev.seq if walker.prev else 0, archived) < known_head[0]:
            walker._break(known_head[1], MISSING)  # the chain's end seen by an earlier check is gone
    return walker.report(), walker.prev
