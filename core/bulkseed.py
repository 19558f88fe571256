"""Bulk paths for `seed_demo --scale large`: PostgreSQL `COPY` (psycopg 3 `cursor.copy`) of rows the
services would have written, a million payments at a time, where the services' one-transaction-per-
payment path would take hours.

The app modules (`<app>/demo_large.py`) build the rows; this module streams them in, times each
phase, and writes the audit events and integrators' events every such row would have had: the
audit events through `AuditWriter` (sealed into the hash chain as they are written when a sealer is
given: `compliance.demo_large.chain_sealer`), the events through `EventWriter`, already marked
dispatched (`dispatched_at` = their time) so the relay never hands them to a webhook.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models

from .audit import declared_actions
from .context import Actor
from .events import declared_events
from .ids import _ALPHABET, RANDOM_LENGTH
from .models import AuditEvent, Event

# byte -> base62 character: ids from one urandom read and a translate, ten times faster than
# `core.ids.new_id` (millions of rows). The slight bias (256 is not a multiple of 62) is harmless
# for demo rows: the ids stay unique and unguessable enough for data nobody can reach from outside.
_ID_TABLE = bytes(ord(_ALPHABET[i % len(_ALPHABET)]) for i in range(256))


def fast_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(RANDOM_LENGTH).translate(_ID_TABLE).decode()}"


class LargeSeedRefused(Exception):
    """The large seed cannot run here (not PostgreSQL)."""


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise LargeSeedRefused(
            "seed_demo --scale large needs PostgreSQL (it writes with COPY); this database is "
            f"{connection.vendor}. Set DATABASE_URL=postgres://... and run it again."
        )


def columns_of(model: type[models.Model], names: Iterable[str]) -> list[str]:
    """The database columns of `names` (attribute names, `customer_id` for a foreign key)."""
    by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
    return [str(by_attname[name]) for name in names]


def copy_rows(model: type[models.Model], names: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Streams `rows` (values in `names` order; dicts and lists for JSON columns) into the model's table
    with one COPY; returns how many."""
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    json_at = [i for i, name in enumerate(names) if isinstance(by_attname[name], models.JSONField)]
    table = model._meta.db_table
    sql = f"COPY {table} ({', '.join(columns_of(model, names))}) FROM STDIN"
    count = 0
    with connection.cursor() as wrapper:
        with wrapper.cursor.copy(sql) as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = json.dumps(row[i], separators=(",", ":"))
                copy.write_row(row)
                count += 1
    return count


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` ids from the table's own sequence, for rows written with COPY that others point at."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class PhaseTimer:
    """Prints each phase's time and remembers them (the command prints the table at the end)."""

    stdout: Any
    phases: list[tuple[str, float, str]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[dict[str, Any]]:
        started = time.monotonic()
        note: dict[str, Any] = {}
        self.stdout.write(f"  {name}...")
        yield note
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{v:,} {k}" for k, v in note.items())
        self.phases.append((name, elapsed, summary))
        self.stdout.write(f"  {name}: {elapsed:.1f} s" + (f" ({summary})" if summary else ""))


AUDIT_NAMES = [
    "id",
    "seq",
    "occurred_at",
    "action",
    "outcome",
    "actor_type",
    "actor_id",
    "actor_label",
    "object_type",
    "object_id",
    "request_id",
    "ip_address",
    "user_agent",
    "details",
    "prev_hash",
    "hash",
]
EVENT_NAMES = [
    "id",
    "type",
    "created",
    "object_type",
    "object_id",
    "data",
    "request_id",
    "dispatched_at",
    "actor_type",
    "actor_id",
    "actor_label",
]

# sealer(content) -> (seq, prev_hash, hash): the next link of the chain for an event's content (the
# columns compliance.chain hashes, as a dict of attribute name to stored value).
Sealer = Callable[[dict[str, Any]], tuple[int, str, str]]


class AuditWriter:
    """Buffers audit events as `audit_record` would write them and COPYs them in batches. Actions are
    checked against the declared ones, as `audit_record` does."""

    BATCH = 20_000

    def __init__(self, *, actor: Actor, sealer: Sealer | None = None) -> None:
        self.actor = actor
        self.sealer = sealer
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self._declared = declared_actions()

    def add(
        self,
        *,
        action: str,
        at: dt.datetime,
        object_type: str,
        object_id: str,
        details: dict[str, Any] | None = None,
        outcome: str = AuditEvent.Outcome.SUCCESS,
    ) -> None:
        if action not in self._declared:
            raise ValueError(f"undeclared audit action {action!r}")
        actor = self.actor
        content = {
            "id": fast_id("aud"),
            "occurred_at": at,
            "action": action,
            "outcome": str(outcome),
            "actor_type": actor.kind,
            "actor_id": actor.id,
            "actor_label": actor.label[:200],
            "object_type": object_type,
            "object_id": object_id,
            "request_id": "",
            "ip_address": None,
            "user_agent": "",
            "details": details or {},
        }
        seq, prev, digest = self.sealer(content) if self.sealer else (None, None, None)
        self.rows.append(
            (
                content["id"],
                seq,
                at,
                action,
                content["outcome"],
                actor.kind,
                actor.id,
                content["actor_label"],
                object_type,
                object_id,
                "",
                None,
                "",
                content["details"],
                prev,
                digest,
            )
        )
        if len(self.rows) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.written += copy_rows(AuditEvent, AUDIT_NAMES, self.rows)
            self.rows = []


class EventWriter:
    """Buffers integrators' events (`core.events` types), written already dispatched: nothing is sent."""

    BATCH = 20_000

    def __init__(self, *, actor: Actor) -> None:
        self.actor = actor
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self._declared = declared_events()

    def add(self, *, type: str, at: dt.datetime, object_type: str, object_id: str, obj: dict[str, Any]) -> None:
        if type not in self._declared:
            raise ValueError(f"undeclared event type {type!r}")
        actor = self.actor
        self.rows.append(
            (
                fast_id("evt"),
                type,
                at,
                object_type,
                object_id,
                {"object": obj},
                "",
                at,
                actor.kind,
                actor.id[:64],
                actor.label[:200],
            )
        )
        if len(self.rows) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.written += copy_rows(Event, EVENT_NAMES, self.rows)
            self.rows = []


def mark_dispatched(*, since: dt.datetime, actor: Actor) -> int:
    """The events the services wrote for the seed meanwhile (its fee schedules, its plans), marked
    dispatched like the bulk ones: the seed sends no webhook at all."""
    return Event.objects.filter(
        dispatched_at__isnull=True, created__gte=since, actor_type=actor.kind, actor_id=actor.id
    ).update(dispatched_at=models.F("created"))


def iso(moment: dt.datetime) -> str:
    """A time as the REST API writes it (events' rendered objects)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class LargeSeed:
    """What every app's `demo_large.seed_large` gets: sizes, the shared writers, the timer and the
    time span (a year up to `now`)."""

    stdout: Any
    rng: Any
    now: dt.datetime
    payments: int
    subscriptions: int
    wallets: int
    customers: int
    timer: PhaseTimer
    audit: AuditWriter
    events: EventWriter
    days: int = 365

    @property
    def start(self) -> dt.datetime:
        return self.now - dt.timedelta(days=self.days)

    def flush(self) -> None:
        self.audit.flush()
        self.events.flush()
