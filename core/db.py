"""Transaction boundaries: `use_case` on every public service, bounded retries of deadlocks and
serialization failures, `require_transaction` for inner helpers that must run inside one, and
`join_first_transaction` for a write that must commit with a block's first transaction."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, cast, overload

from django.db import OperationalError, connection, models, transaction
from django.dispatch import Signal

from . import heldrows, rawrows

T = TypeVar("T")
P = ParamSpec("P")
_M = TypeVar("_M", bound=models.Model)
logger = logging.getLogger("core.db")
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)


def is_retryable(exc: BaseException) -> bool:
    return _sqlstate(exc) in RETRYABLE_SQLSTATES


# Sent before each retry of an outermost transaction, with `reason` (`retry_reason`): monitoring counts them.
transaction_retried = Signal()


def retry_reason(exc: BaseException) -> str:
    """guard (a write built from rows read without their locks found them changed: rawrows.GuardFailed), deadlock,
    or serialization (a serialization failure the database raised)."""
    if isinstance(exc, rawrows.GuardFailed):
        return "guard"
    return "deadlock" if _sqlstate(exc) == "40P01" else "serialization"


def run_in_transaction(fn: Callable[..., T], *, attempts: int = 5) -> T:
    """The use-case boundary: one outermost transaction, retried on deadlock/serialization.

    `fn` is called with no arguments (`...` only because mypy cannot match a lambda that binds a loop
    variable as a default, `lambda n=note: ...`, to `Callable[[], T]`)."""
    if rawrows.wrapper().in_atomic_block:
        # Inside someone else's transaction: they own the retry.
        return fn()
    for attempt in range(1, attempts + 1):
        token = _attempt.set(attempt)
        try:
            with transaction.atomic():
                return fn()
        except OperationalError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            logger.warning("retrying transaction", extra={"attempt": attempt, "error": str(exc)[:200]})
            transaction_retried.send(sender=None, reason=retry_reason(exc))
            if not isinstance(exc, rawrows.GuardFailed):
                # Spreads out transactions that deadlocked on each other; a refused guard's retry queues on the locks.
                time.sleep(random.uniform(0.001, 0.01) * attempt)
        finally:
            _attempt.reset(token)
    raise AssertionError("unreachable")


# The attempt of the outermost transaction `run_in_transaction` is running (0: none is, or someone else opened it).
_attempt: ContextVar[int] = ContextVar("transaction_attempt", default=0)


def guarded_writes_allowed() -> bool:
    """Whether a write may be built from rows read without their locks and guarded in its statement
    (`rawrows.Changes.guarded`): only on PostgreSQL, in the first attempt of a transaction whose owner
    retries it, so a guard that refuses (`rawrows.GuardFailed`) costs a retry that takes the locks first,
    never an error. Anywhere else (a transaction someone else opened, a retry) writes lock first."""
    return _attempt.get() == 1 and rawrows.vendor() == "postgresql"


@overload
def use_case(fn: Callable[P, T], *, steps: bool = ..., attempts: int = ...) -> Callable[P, T]: ...


@overload
def use_case(fn: None = None, *, steps: bool = ..., attempts: int = ...) -> Callable[[Callable[P, T]], Callable[P, T]]:
    ...


def use_case(fn: Callable[P, T] | None = None, *, steps: bool = False,
             attempts: int = 5) -> Callable[P, T] | Callable[[Callable[P, T]], Callable[P, T]]:
    """Marks a public `<entity>_<action>` service as a use case: the boundary is visible where the
    service is defined, so no caller (admin, task, test, another door) wraps it.

    `@use_case`: the call runs in one transaction. Called outside any transaction it opens the
    outermost one and retries deadlocks and serialization failures (at most `attempts` times);
    inside one (an idempotent write, a batch, another use case) it joins it, and the owner of the
    outermost transaction retries.

    `@use_case(steps=True)`: the service commits in steps of its own because it calls the outside
    world between them (reserve, call the provider, apply the answer). It opens no transaction and
    must not be wrapped in one: a wrapping transaction would hold row locks across the call and roll
    back the record of a charge that happened.
    """

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        if steps:
            func.use_case = "steps"  # type: ignore[attr-defined]
            return func

        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return run_in_transaction(lambda: func(*args, **kwargs), attempts=attempts)

        run.use_case = "transaction"  # type: ignore[attr-defined]
        return run

    return decorate(fn) if fn is not None else decorate


def xact_lock(key: int) -> None:
    """One at a time: holds a PostgreSQL advisory lock on `key` until the current transaction ends (SQLite
    writes one at a time anyway). For derived-data refreshes that must not interleave."""
    require_transaction()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def require_transaction() -> None:
    if not rawrows.wrapper().in_atomic_block:
        raise RuntimeError("This service must run inside a transaction opened by its use case.")


def update_rows(model: type[_M], objs: Sequence[_M], fields: list[str]) -> int:
    """`bulk_update` as one `UPDATE ... FROM (VALUES ...)` on PostgreSQL: the same rows written, without
    the per-row CASE expressions Django builds (which cost more to compile than the update to run)."""
    if not objs:
        return 0
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_update(objs, fields)
    sql, params = _update_sql(model, objs, fields)
    with rawrows.cursor() as cursor:
        cursor.execute(sql, params)
        count: int = cursor.rowcount
        return count


def update_locked_rows_later(model: type[_M], objs: Sequence[_M], fields: list[str]) -> None:
    """`update_rows` for rows locked in this transaction (each must be there: checked), held to go with the
    enclosing `core.heldrows` block's last statement where it can hold it (PostgreSQL; sent at once otherwise)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields)
        return
    sql, params = _update_sql(model, objs, fields)
    heldrows.execute_later(rawrows.Changes(((f"{sql} RETURNING 1", params),), rows=len({obj.pk for obj in objs}),
                                           tables=frozenset({model._meta.db_table})))


def _update_sql(model: type[_M], objs: Sequence[_M], fields: list[str]) -> tuple[str, list[Any]]:
    sql, columns = rawrows.kept(("update_rows", model, tuple(fields), len(objs)),
                                lambda: _update_statement(model, fields, len(objs)), rows=len(objs))
    params: list[Any] = []
    db = rawrows.wrapper()
    for obj in objs:
        params.append(columns[0].get_db_prep_value(obj.pk, db))
        params.extend(rawrows.db_values(columns[1:], [getattr(obj, c.attname) for c in columns[1:]], db))
    return sql, params


def _update_statement(model: type[models.Model], fields: list[str], rows: int
                      ) -> tuple[str, list[models.Field[Any, Any]]]:
    meta, qn = model._meta, connection.ops.quote_name
    # Concrete columns only (the callers name plain fields): a pk and fields, never reverse relations.
    columns = [meta.pk, *(cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields)]
    row = "(" + ", ".join(f"%s::{c.db_type(connection)}" for c in columns) + ")"
    quoted = [qn(cast(str, c.column)) for c in columns]
    names = ", ".join(quoted)
    sets = ", ".join(f"{q} = v.{q}" for q in quoted[1:])
    pk = quoted[0]
    sql = (f"UPDATE {qn(meta.db_table)} AS t SET {sets} FROM (VALUES {', '.join([row] * rows)}) "
           f"AS v({names}) WHERE t.{pk} = v.{pk}")
    return sql, columns


# Statements that open, end or mark a transaction: never the block's own work.
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "SHOW")


class _Committed:
    """An on_commit callback that records the commit, without a reference back to the work (a closure over it was a
    reference cycle that kept each request's work for the garbage collector)."""

    __slots__ = ("committed",)

    def __init__(self) -> None:
        self.committed = False

    def __call__(self) -> None:
        self.committed = True


class FirstTransactionWork:
    """Work that commits with the first transaction of a block (see `join_first_transaction`).

    Installed as an execute wrapper on the connection for the block: it runs `work` once before
    the first statement that needs it, again if the transaction it ran in rolls back (a retried
    deadlock, a refusal), and never after one commit."""

    def __init__(self, work: Callable[[], None]):
        self._work = work
        self._running = False
        # The commit of the transaction the work last ran in: while its on_commit callback is queued on the
        # connection that transaction is open and holds the work; a rollback drops the callback unrun.
        self._marker: _Committed | None = None

    @property
    def done(self) -> bool:
        """True once the work committed, or while it is part of the open transaction (whose owner
        commits it); False if it never ran or its transaction rolled back."""
        marker = self._marker
        if marker is None:
            return False
        db = rawrows.wrapper()
        return marker.committed or (db.in_atomic_block and any(entry[1] is marker for entry in db.run_on_commit))

    def _needed_before(self, sql: str) -> bool:
        if self._running or self.done:
            return False
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb in _CONTROL:
            return False
        # In a transaction the work comes first, whatever the statement; outside one a read needs
        # nothing held, so only a write (autocommit) makes the work run, on its own, before it.
        return rawrows.wrapper().in_atomic_block or verb != "SELECT"

    def _run(self) -> None:
        self._running = True
        try:
            self._marker = _Committed()
            if rawrows.wrapper().in_atomic_block:
                self._work()
                transaction.on_commit(self._marker)
            else:
                with transaction.atomic():
                    self._work()
                self._marker()
        finally:
            self._running = False

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool,
                 context: dict[str, Any]) -> Any:
        if self._needed_before(sql):
            self._run()
        return execute(sql, params, many, context)


@contextmanager
def join_first_transaction(work: Callable[[], None]) -> Iterator[FirstTransactionWork]:
    """Run `work` (database writes) in the first transaction the block opens, at its start, so it
    commits with that transaction instead of in one of its own; in each retry of it again.

    Meant for a row that must be committed before a multi-step use case (`@use_case(steps=True)`)
    reaches the outside world but need not cost a commit: the idempotency lease of a payment is
    inserted by the payment's first step. Precisely, `work` runs just before the block's first
    statement inside a transaction (any transaction: `run_in_transaction`, `transaction.atomic`, an
    enclosing one), or before its first write outside any (on its own, committed, then the write):
    nothing is written before it. Reads outside a transaction do not wait for it.

    It never outlives the block: a block that writes nothing leaves it not run (`handle.done` is
    False at the exit), and the caller decides what to do instead, typically writing it with
    whatever it commits next. Exceptions of `work` propagate from the statement that triggered it
    (its transaction rolls back). Only the default connection is watched.
    """
    handle = FirstTransactionWork(work)
    with connection.execute_wrapper(handle):
        yield handle
