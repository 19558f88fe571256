"""One idempotency mechanism for every write, whichever door it came through.

A key is scoped to the caller (API key or staff user) and remembers the fingerprint of the
request and the first response. Same key + same request: that response again, no second
effect. Same key + different request: `idempotency_key_reuse`. Same key while the first is
still running: `idempotency_key_in_use`, at once.

Two ways to hold a key while the effect runs:

- `db` (default): a PostgreSQL advisory transaction lock inside the effect's own transaction,
  and the record written in that transaction, so a crash leaves nothing behind. One write is
  `BEGIN; SELECT pg_try_advisory_xact_lock(..), <the record> (one statement); <the effect>;
  INSERT <the record>; COMMIT`: no savepoint. The statement's snapshot may predate the lock (READ
  COMMITTED takes it when the statement starts, the lock is taken while it runs), so a record
  committed by the previous holder in between is not seen; the unique (scope, key) constraint then
  refuses the INSERT, the attempt rolls back (the effect with it) and runs again, and that replays
  the record. A refusal worth storing (a DomainError but 400/401/403/429 and 5xx) rolls the whole
  transaction back and is recorded by a second one (`BEGIN; lock + read; INSERT; COMMIT`) that
  answers the record found instead if another request with the key recorded one meanwhile (and
  `idempotency_key_in_use` if one holds the key at that moment: its answer will be the key's).
  Other errors propagate and nothing is written. Called inside a transaction someone else owns (a test,
  a batch), the effect runs under a savepoint instead, and the lock and the read are two
  statements (the read then sees everything committed before the lock). SQLite has no advisory
  locks: its IMMEDIATE transactions serialise writers.
- `lease`: for effects that call the outside world and commit in several steps
  (`@use_case(steps=True)`), an `in_progress` row with `locked_until`. It is inserted at the start
  of the effect's first transaction (`core.db.join_first_transaction`), so it commits with the
  effect's first step, before any provider call, and costs no commit of its own; a crash before that
  leaves nothing, a crash after it a lease that expires instead of a key stuck forever. A second
  request with the key meanwhile finds the lease (in use, or a reuse if its request differs); two
  that start together both pass the first read and the second one's insert finds the first's row
  (it waits for that transaction) and answers as the first read would have. The outcome (the
  response, or a refusal worth storing) is written in one transaction after the effect, with the door's
  log row in the same statement (core.heldrows: an optional row); should that statement fail, that
  transaction runs once more with the log row in a savepoint of its own.

A door that logs each call (MCP's tool-call log) passes the log row's write with
`outcome_written_with(write)`: the outermost `execute_write` of the block runs it in the transaction
that records the outcome, so the log costs no transaction of its own where there is one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction

from . import clock, heldrows, rawrows
from .cards import contains_pan
from .context import Actor
from .db import join_first_transaction, run_in_transaction
from .errors import (
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyReuse,
    RawCardDataNotAllowed,
)
from .models import IdempotencyRecord

logger = logging.getLogger("core.idempotency")
MAX_KEY_LENGTH = 255
# Refusals worth replaying; validation, auth, throttling and server errors are safe to retry.
_NOT_STORED_STATUSES = {400, 401, 403, 429}
# Transactions one `db` write may take: its attempt, the record of its refusal, and one more of either
# after a record appeared between a read and an insert (`_KeyTaken`), which replays that record.
_ATTEMPTS = 4
_COLUMNS = ("id", "operation", "fingerprint", "state", "response_status", "response_body", "locked_until",
            "created_at", "expires_at")


@dataclass(frozen=True)
class WriteResult:
    status: int
    body: Any
    replayed: bool = False


# What a write answers: a result, or a refusal to raise (`replayed` on one answered from a record).
Outcome = WriteResult | DomainError


class OutcomeHook:
    """A door's own write of a call's outcome (see `outcome_written_with`)."""

    def __init__(self, write: Callable[[Outcome], None]):
        self._write = write
        # True once `execute_write` ran the write in the transaction that recorded the outcome and
        # that transaction committed (or belongs to an enclosing one, which commits it).
        self.written = False

    def __call__(self, outcome: Outcome) -> Outcome:
        self._write(outcome)
        return outcome


_hook: ContextVar[OutcomeHook | None] = ContextVar("bo_idempotency_outcome_hook", default=None)


@contextmanager
def outcome_written_with(write: Callable[[Outcome], None]) -> Iterator[OutcomeHook]:
    """While the block runs, the next `execute_write` calls `write(outcome)` inside the transaction
    in which it records the outcome: the effect's own (db mode), the refusal's, the lease's
    completion. Nested writes (an approved call run by the approval) do not: the outcome is the
    outermost one's. `write` runs again if that transaction is retried, so it only writes rows.

    `hook.written` is False at the exit when that did not happen: the call never reached
    `execute_write` (refused before, read-only, held for approval), was answered without a
    transaction (a lease-mode replay) or failed; the caller then writes on its own."""
    hook = OutcomeHook(write)
    token = _hook.set(hook)
    try:
        yield hook
    finally:
        _hook.reset(token)


def fingerprint(operation: str, payload: Any) -> str:
    canonical = json.dumps({"op": operation, "payload": payload}, sort_keys=True, default=str,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: object, *, field: str = "idempotency_key") -> str:
    """A key we may store: 1-255 printable characters, and no card number (keys are kept for a
    day and shown to staff). `field` names the header or argument it came in."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalid(details={"max_length": MAX_KEY_LENGTH})
    if contains_pan(key):
        raise RawCardDataNotAllowed(details={"field": field})
    return key


def _is_stored(error: DomainError) -> bool:
    return error.status not in _NOT_STORED_STATUSES and error.status < 500


def _replayed_error(body: dict[str, Any], status: int) -> DomainError:
    err = body.get("error", {})
    exc = DomainError(err.get("message"), code=err.get("code"), status=status, details=err.get("details"))
    exc.replayed = True
    return exc


def _as_outcome(result: WriteResult) -> Outcome:
    return _replayed_error(result.body, result.status) if result.replayed and result.status >= 400 else result


def _answer(outcome: Outcome) -> WriteResult:
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


class _Refused(Exception):  # noqa: N818 - control flow, never shown
    """Carries a refusal worth storing out of the transaction it rolls back."""

    def __init__(self, error: DomainError):
        super().__init__(error.code)
        self.error = error


class _KeyTaken(Exception):  # noqa: N818 - control flow, never shown
    """The record's INSERT met the unique (scope, key) constraint: another request recorded the key
    after this attempt's read (see the module docstring). The attempt rolls back and runs again."""


class _LeaseLost(Exception):  # noqa: N818 - control flow, never shown
    """The lease row could not be inserted at the start of the effect's first transaction: another
    request holds or recorded the key since the first read. Not a DomainError, so no service takes it
    for a refusal of its own; its transaction rolls back and the key's record is answered."""


@dataclass(frozen=True)
class _Write:
    scope: str
    key: str
    operation: str
    fingerprint: str
    effect: Callable[[], tuple[int, Any]]
    hook: OutcomeHook | None

    def report(self, outcome: Outcome) -> Outcome:
        return self.hook(outcome) if self.hook is not None else outcome

    def fields(self, now: dt.datetime, **values: Any) -> dict[str, Any]:
        return {"scope": self.scope, "key": self.key, "operation": self.operation, "fingerprint": self.fingerprint,
                "created_at": now, "expires_at": _expiry(now), **values}


def _lock_id(scope: str, key: str) -> int:
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _advisory_lock(scope: str, key: str) -> bool:
    if rawrows.vendor() != "postgresql":
        # SQLite's IMMEDIATE transactions already serialise writers.
        return True
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(scope, key)])
        return bool(cur.fetchone()[0])


def _read(scope: str, key: str) -> IdempotencyRecord | None:
    return next(iter(rawrows.fetch(IdempotencyRecord, scope=scope, key=key)), None)


def _field(name: str) -> models.Field[Any, Any]:
    return cast("models.Field[Any, Any]", IdempotencyRecord._meta.get_field(name))


def _lock_and_read(scope: str, key: str) -> tuple[bool, IdempotencyRecord | None]:
    """The advisory lock and the key's record in one statement (PostgreSQL); whether the lock was
    taken, and the record (even when it was not). The record may be older than the lock: see the
    module docstring."""
    if rawrows.vendor() != "postgresql":
        return True, _read(scope, key)
    db = rawrows.wrapper()
    qn = db.ops.quote_name
    columns = ", ".join(f"r.{qn(cast(str, _field(name).column))}" for name in _COLUMNS)
    sql = (f"SELECT pg_try_advisory_xact_lock(%s), {columns} FROM (SELECT 1) AS one "
           f"LEFT JOIN {qn(IdempotencyRecord._meta.db_table)} AS r ON r.{qn('scope')} = %s AND r.{qn('key')} = %s")
    with rawrows.cursor() as cur:
        cur.execute(sql, [_lock_id(scope, key), scope, key])
        locked, *values = cur.fetchone()
    if values[0] is None:
        return bool(locked), None
    row = dict(zip(_COLUMNS, values, strict=True))
    # The JSON column comes back as text (Django's psycopg setup); the field decodes it as a query would.
    body_field = cast("models.JSONField[Any]", _field("response_body"))
    row["response_body"] = body_field.from_db_value(row["response_body"], cast(Any, None), db)
    return bool(locked), IdempotencyRecord(scope=scope, key=key, **row)


def _expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _verdict(record: IdempotencyRecord | None, operation: str, fp: str, now: dt.datetime) -> WriteResult | None:
    """A replay, a conflict (raised), or None when the key is free: no record, one past its 24 h,
    or the lapsed lease of a call that crashed (the caller replaces those)."""
    if record is None or record.expires_at <= now:
        return None
    if record.fingerprint != fp or record.operation != operation:
        raise IdempotencyKeyReuse(details={"operation": record.operation})
    if record.state == IdempotencyRecord.State.IN_PROGRESS:
        if record.locked_until and record.locked_until > now:
            raise IdempotencyKeyInUse()
        return None
    assert record.response_status is not None  # a completed record holds its response
    return WriteResult(record.response_status, record.response_body, replayed=True)


def _delete(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def _insert(write: _Write, now: dt.datetime, status: int, body: Any, held: heldrows.Held | None = None) -> None:
    """The completed record, in the write's transaction, after the rows the effect held (`held`): on PostgreSQL
    in one statement with them. Its only constraint besides the primary key is the unique (scope, key), so an
    IntegrityError naming that is the key recorded meanwhile; any other is the held rows' and is raised."""
    record = IdempotencyRecord(**write.fields(now, state=IdempotencyRecord.State.COMPLETED,
                                              response_status=status, response_body=body))
    if held is not None and not (held.holds and rawrows.vendor() == "postgresql"
                                 and not rawrows.saves_itself(IdempotencyRecord)):
        held.write()  # on their own first (or none): their errors are theirs
        held = None
    try:
        if held is not None:
            held.write([record])
        else:
            rawrows.insert(record)
    except IntegrityError as exc:
        if held is not None and _constraint(exc) != _KEY_CONSTRAINT:
            raise
        raise _KeyTaken() from exc


_KEY_CONSTRAINT = "idempotency_scope_key_uniq"


def _constraint(exc: IntegrityError) -> str | None:
    """The constraint PostgreSQL names in the error (psycopg's diagnostics), if any."""
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)


def _insert_if_absent(fields: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT (scope, key) DO NOTHING: whether the row was inserted. On PostgreSQL a
    conflicting row still being inserted is waited for (its transaction commits or rolls back)."""
    qn = connection.ops.quote_name
    columns = [_field(name) for name in fields]
    names = ", ".join(qn(cast(str, f.column)) for f in columns)
    sql = (f"INSERT INTO {qn(IdempotencyRecord._meta.db_table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT ({qn('scope')}, {qn('key')}) DO NOTHING RETURNING {qn('id')}")
    params = rawrows.db_values(columns, [fields[f.name] for f in columns], rawrows.wrapper())
    with rawrows.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone() is not None


def execute_write(*, actor: Actor, operation: str, key: str | None, payload: Any,
                  effect: Callable[[], tuple[int, Any]], mode: str = "db") -> WriteResult:
    """Run `effect` (returning status and body) at most once per (caller, key).

    Domain errors propagate as exceptions; a replayed refusal is raised again with
    `replayed = True` on it.
    """
    hook = _hook.get()
    token = _hook.set(None)  # writes nested in this one do not record its outcome
    try:
        return _execute(actor, operation, key, payload, effect, mode, hook)
    finally:
        _hook.reset(token)


def _execute(actor: Actor, operation: str, key: str | None, payload: Any, effect: Callable[[], tuple[int, Any]],
             mode: str, hook: OutcomeHook | None) -> WriteResult:
    if key is None:
        if mode == "lease":
            # Provider-calling effects commit in steps of their own; one wrapping transaction would
            # hold row locks across the call and roll back the record of a charge that happened.
            status, body = effect()
            return WriteResult(status, body)

        owned = not rawrows.wrapper().in_atomic_block  # inside someone else's transaction nothing is held

        def unkeyed() -> Outcome:
            with heldrows.holding() if owned else nullcontext():
                status, body = effect()
            return hook(WriteResult(status, body)) if hook is not None else WriteResult(status, body)

        outcome = run_in_transaction(unkeyed)
    else:
        write = _Write(actor.idempotency_scope[:80], validate_key(key), operation, fingerprint(operation, payload),
                       effect, hook)
        if mode == "lease":
            return _execute_with_lease(write)
        outcome = _in_transaction(write) if rawrows.wrapper().in_atomic_block else _in_own_transaction(write)
    if hook is not None:
        hook.written = True
    return _answer(outcome)


def _in_own_transaction(write: _Write) -> Outcome:
    refusal: DomainError | None = None
    for _ in range(_ATTEMPTS):
        try:
            if refusal is None:
                return run_in_transaction(partial(_attempt, write))
            return run_in_transaction(partial(_record_refusal, write, refusal))
        except _Refused as refused:
            refusal = refused.error
        except _KeyTaken:
            logger.info("idempotency record appeared after the read; answering it",
                        extra={"operation": write.operation})
    # Only a record that keeps appearing and vanishing (purged as it expires) gets here: nothing of
    # this write committed, so "try again" is the honest answer.
    raise IdempotencyKeyInUse()


def _take(write: _Write, now: dt.datetime) -> Outcome | None:
    """Holds the key for this transaction: the stored answer to replay, or None when the key is free
    (an expired record deleted)."""
    locked, existing = _lock_and_read(write.scope, write.key)
    if not locked:
        raise IdempotencyKeyInUse()
    replay = _verdict(existing, write.operation, write.fingerprint, now)
    if replay is not None:
        return write.report(_as_outcome(replay))
    if existing is not None:
        _delete(existing)
    return None


def _attempt(write: _Write) -> Outcome:
    now = clock.now()
    replayed = _take(write, now)
    if replayed is not None:
        return replayed
    # The effect's audit events and events are written with the record, in one statement on PostgreSQL.
    with heldrows.holding() as held:
        try:
            status, body = write.effect()
        except DomainError as exc:
            if not _is_stored(exc):
                raise
            raise _Refused(exc) from exc
        _insert(write, now, status, body, held)
    return write.report(WriteResult(status, body))


def _record_refusal(write: _Write, error: DomainError) -> Outcome:
    """The refusal's record, after the effect's transaction rolled back; or the record another
    request with the key wrote meanwhile, answered as a replay."""
    now = clock.now()
    replayed = _take(write, now)
    if replayed is not None:
        return replayed
    _insert(write, now, error.status, {"error": error.to_dict()})
    return write.report(error)


def _in_transaction(write: _Write) -> Outcome:
    """Inside a transaction someone else owns: a savepoint undoes a stored refusal's effect."""
    now = clock.now()
    if not _advisory_lock(write.scope, write.key):
        raise IdempotencyKeyInUse()
    existing = _read(write.scope, write.key)
    replay = _verdict(existing, write.operation, write.fingerprint, now)
    if replay is not None:
        return write.report(_as_outcome(replay))
    if existing is not None:
        _delete(existing)
    savepoint = transaction.savepoint()
    outcome: Outcome
    try:
        status, body = write.effect()
    except DomainError as exc:
        if not _is_stored(exc):
            raise
        transaction.savepoint_rollback(savepoint)
        status, body, outcome = exc.status, {"error": exc.to_dict()}, exc
    else:
        transaction.savepoint_commit(savepoint)
        outcome = WriteResult(status, body)
    IdempotencyRecord.objects.create(**write.fields(now, state=IdempotencyRecord.State.COMPLETED,
                                                    response_status=status, response_body=body))
    return write.report(outcome)


def _execute_with_lease(write: _Write) -> WriteResult:
    now = clock.now()
    replay = _verdict(_read(write.scope, write.key), write.operation, write.fingerprint, now)
    if replay is not None:
        return _answer(_as_outcome(replay))
    lease = _Lease(write, now)
    outcome: Outcome
    with join_first_transaction(lease.claim) as claim:
        try:
            status, body = write.effect()
        except _LeaseLost:
            return _answer_lost(write)
        except DomainError as exc:
            if not _is_stored(exc):
                if claim.done:
                    run_in_transaction(partial(_release, write, exc))
                    if write.hook is not None:
                        write.hook.written = True
                raise
            outcome = exc
        else:
            outcome = WriteResult(status, body)
    # After the block, so a claim that never ran (the effect wrote nothing) runs in the completion's transaction.
    completion = _Completion(lease, outcome, claimed=claim.done)
    try:
        run_in_transaction(partial(completion.run, hold_optional_rows=not connection.in_atomic_block))
    except Exception:
        if not completion.optional_rows_failed:
            raise
        # The statement that wrote the record with a call's log row failed (nothing of it committed): recorded
        # again, the row in a savepoint of its own there, where its failure is logged and the outcome stands.
        logger.warning("a row held with the outcome failed it; recording the outcome without holding it",
                       exc_info=True, extra={"operation": write.operation})
        run_in_transaction(partial(completion.run, hold_optional_rows=False))
    if write.hook is not None:
        write.hook.written = True
    return _answer(outcome)


class _Lease:
    """The `in_progress` row of a lease-mode write, inserted by the effect's first transaction."""

    def __init__(self, write: _Write, now: dt.datetime):
        self.write, self.now = write, now
        self.until = now + dt.timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)

    def _fields(self) -> dict[str, Any]:
        return self.write.fields(self.now, state=IdempotencyRecord.State.IN_PROGRESS, locked_until=self.until,
                                 response_status=None, response_body=None)

    def claim(self) -> None:
        if _insert_if_absent(self._fields()):
            return
        write = self.write
        existing = IdempotencyRecord.objects.select_for_update().filter(scope=write.scope, key=write.key).first()
        try:
            replay = _verdict(existing, write.operation, write.fingerprint, self.now)
        except DomainError:
            raise _LeaseLost() from None
        if existing is None or replay is not None:
            raise _LeaseLost()
        if existing.expires_at <= self.now:
            _delete(existing)
            if not _insert_if_absent(self._fields()):
                raise _LeaseLost()
            return
        # The lapsed lease of a crashed call with this very request: taken over.
        existing.locked_until = self.until
        existing.save(update_fields=["locked_until"])


def _answer_lost(write: _Write) -> WriteResult:
    replay = _verdict(_read(write.scope, write.key), write.operation, write.fingerprint, clock.now())
    if replay is None:
        raise IdempotencyKeyInUse()
    return _answer(_as_outcome(replay))


class _Completion:
    """The transaction that records a lease-mode write's outcome: the record completed and the door's own rows
    (the outcome hook's), in one statement on PostgreSQL where the hook's rows may be held with it."""

    def __init__(self, lease: _Lease, outcome: Outcome, *, claimed: bool) -> None:
        self.lease, self.outcome, self.claimed = lease, outcome, claimed
        # Whether the block's last statement, with optional rows in it, is what failed (and not the work before it
        # or the commit after it): only then is running again without holding them an answer.
        self.optional_rows_failed = False

    def run(self, *, hold_optional_rows: bool) -> None:
        self.optional_rows_failed = writing = False
        try:
            with heldrows.holding(optional_rows=True) if hold_optional_rows else nullcontext() as held:
                self._record()
                self.lease.write.report(self.outcome)
                writing = held is not None and held.holds_optional_rows and held.failure is None
        except Exception:
            self.optional_rows_failed = writing
            raise

    def _record(self) -> None:
        write, outcome = self.lease.write, self.outcome
        if isinstance(outcome, DomainError):
            status, body = outcome.status, {"error": outcome.to_dict()}
        else:
            status, body = outcome.status, outcome.body
        try:
            if not self.claimed:
                # The effect wrote nothing, so it never took its lease: taken now, with the record.
                self.lease.claim()
        except _LeaseLost:
            # Another request with the key took it meanwhile; its record stands (this effect wrote nothing).
            logger.info("idempotency lease taken by another request; outcome not recorded",
                        extra={"operation": write.operation})
            return
        changes = rawrows.update_changes(IdempotencyRecord, {
            "state": IdempotencyRecord.State.COMPLETED, "response_status": status, "response_body": body,
            "locked_until": None}, scope=write.scope, key=write.key)
        assert changes is not None
        heldrows.execute_later(changes)


def _release(write: _Write, error: DomainError) -> None:
    """A refusal not worth storing frees the key (the lease row goes) and is logged."""
    IdempotencyRecord.objects.filter(scope=write.scope, key=write.key,
                                     state=IdempotencyRecord.State.IN_PROGRESS).delete()
    write.report(error)


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=clock.now()).delete()
    return deleted
