"""One idempotency mechanism for every write, whichever door it came through.

A key is scoped to the caller (API key or staff user) and remembers the fingerprint of the
request and the first response. Same key + same request: that response again, no second
effect. Same key + different request: `idempotency_key_reuse`. Same key while the first is
still running: `idempotency_key_in_use`, at once.

Two ways to hold a key while the effect runs:
- `db` (default): a PostgreSQL advisory transaction lock inside the effect's own
  transaction. The record is written in that transaction, so a crash leaves nothing behind.
- `lease`: for effects that call the outside world and commit in several steps, an
  `in_progress` row with `locked_until` is committed first; a crash leaves a lease that
  expires instead of a key stuck forever.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from . import clock
from .cards import contains_pan
from .context import Actor
from .db import run_in_transaction
from .errors import (
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyReuse,
    RawCardDataNotAllowed,
)
from .models import IdempotencyRecord

MAX_KEY_LENGTH = 255
# Refusals worth replaying; validation, auth, throttling and server errors are safe to retry.
_NOT_STORED_STATUSES = {400, 401, 403, 429}


@dataclass(frozen=True)
class WriteResult:
    status: int
    body: Any
    replayed: bool = False


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


def _advisory_lock(scope: str, key: str) -> bool:
    if connection.vendor != "postgresql":
        # SQLite's IMMEDIATE transactions already serialise writers.
        return True
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        return bool(cur.fetchone()[0])


def _expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _check_existing(record: IdempotencyRecord | None, operation: str, fp: str,
                    now: dt.datetime) -> WriteResult | None:
    """Return a replay, raise a conflict, or return None when the key is free."""
    if record is None:
        return None
    if record.expires_at <= now:
        record.delete()
        return None
    if record.fingerprint != fp or record.operation != operation:
        raise IdempotencyKeyReuse(details={"operation": record.operation})
    if record.state == IdempotencyRecord.State.IN_PROGRESS:
        if record.locked_until and record.locked_until > now:
            raise IdempotencyKeyInUse()
        return None
    assert record.response_status is not None  # a completed record holds its response
    return WriteResult(record.response_status, record.response_body, replayed=True)


def execute_write(*, actor: Actor, operation: str, key: str | None, payload: Any,
                  effect: Callable[[], tuple[int, Any]], mode: str = "db") -> WriteResult:
    """Run `effect` (returning status and body) at most once per (caller, key).

    Domain errors propagate as exceptions; a replayed refusal is raised again with
    `replayed = True` on it.
    """
    if key is None:
        if mode == "lease":
            # Provider-calling effects commit in steps of their own; one wrapping transaction would
            # hold row locks across the call and roll back the record of a charge that happened.
            status, body = effect()
            return WriteResult(status, body)
        status, body = run_in_transaction(effect)
        return WriteResult(status, body)
    key = validate_key(key)
    fp = fingerprint(operation, payload)
    scope = actor.idempotency_scope[:80]
    if mode == "lease":
        return _execute_with_lease(scope, key, operation, fp, effect)

    outcome: dict[str, Any] = {}

    def attempt() -> None:
        outcome.clear()
        if not _advisory_lock(scope, key):
            raise IdempotencyKeyInUse()
        now = clock.now()
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        replay = _check_existing(existing, operation, fp, now)
        if replay is not None:
            outcome["result"] = replay
            return
        savepoint = transaction.savepoint()
        try:
            status, body = effect()
        except DomainError as exc:
            if not _is_stored(exc):
                raise
            transaction.savepoint_rollback(savepoint)
            status, body = exc.status, {"error": exc.to_dict()}
            outcome["error"] = exc
        else:
            transaction.savepoint_commit(savepoint)
        IdempotencyRecord.objects.create(
            scope=scope, key=key, operation=operation, fingerprint=fp,
            state=IdempotencyRecord.State.COMPLETED, response_status=status, response_body=body,
            created_at=now, expires_at=_expiry(now),
        )
        outcome["result"] = WriteResult(status, body)

    run_in_transaction(attempt)
    if "error" in outcome:
        raise outcome["error"]
    result: WriteResult = outcome["result"]
    if result.replayed and result.status >= 400:
        raise _replayed_error(result.body, result.status)
    return result


def _execute_with_lease(scope: str, key: str, operation: str, fp: str,
                        effect: Callable[[], tuple[int, Any]]) -> WriteResult:
    now = clock.now()
    lease_until = now + dt.timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)

    def take_lease() -> WriteResult | None:
        existing = IdempotencyRecord.objects.select_for_update().filter(scope=scope, key=key).first()
        replay = _check_existing(existing, operation, fp, now)
        if replay is not None:
            return replay
        # A stale lease of a crashed call is taken over; an expired record was deleted (pk None).
        if existing is not None and existing.pk is not None:
            existing.locked_until = lease_until
            existing.save(update_fields=["locked_until"])
            return None
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    scope=scope, key=key, operation=operation, fingerprint=fp,
                    state=IdempotencyRecord.State.IN_PROGRESS, locked_until=lease_until,
                    created_at=now, expires_at=_expiry(now),
                )
        except IntegrityError:
            raise IdempotencyKeyInUse() from None
        return None

    replay = run_in_transaction(take_lease)
    if replay is not None:
        if replay.status >= 400:
            raise _replayed_error(replay.body, replay.status)
        return replay
    try:
        status, body = effect()
    except DomainError as exc:
        if _is_stored(exc):
            _complete(scope, key, exc.status, {"error": exc.to_dict()})
        else:
            IdempotencyRecord.objects.filter(scope=scope, key=key,
                                             state=IdempotencyRecord.State.IN_PROGRESS).delete()
        raise
    _complete(scope, key, status, body)
    return WriteResult(status, body)


def _complete(scope: str, key: str, status: int, body: Any) -> None:
    IdempotencyRecord.objects.filter(scope=scope, key=key).update(
        state=IdempotencyRecord.State.COMPLETED, response_status=status, response_body=body, locked_until=None)


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=clock.now()).delete()
    return deleted
