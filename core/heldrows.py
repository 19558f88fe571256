"""Append-only rows (audit events, events) held until the end of their transaction and written there in one
statement with the transaction's last rows, instead of one round trip each.

`holding()` opens the block in a transaction (core.idempotency opens it around a db-mode write's effect and its
idempotency record, and around a lease-mode write's completion; a capture joins the enclosing block or opens its
own: `joining()`); `insert_later(obj)` inside it holds the row; `Held.write(*last)` writes the held rows and the
block's own last rows (`rawrows.insert_together`: one statement on PostgreSQL), and whatever is still held when the
block ends normally is written then. Outside a block, `insert_later` is `rawrows.insert`.

A row is held only where holding cannot change what the transaction does:

- at the block's own level: once a savepoint has been taken inside the block (an atomic block, or
  `transaction.savepoint()`), rows are written at once, since a rollback to it would have to drop them;
- for a model whose rows `rawrows.insert` writes (no `save()` of its own, no `pre_save`/`post_save` receivers):
  receivers run when the row is written, as before;
- rows nothing in the transaction reads back: audit events, events, a call's log row. Foreign keys to them are
  checked at commit (Django declares them deferred), so a delivery that refers to a held event is written as before.

A block also holds changes (`execute_later(changes)`: the ledger's entry, postings and balances; payments' new
state; an idempotency record's completion), which lead the block's last statement instead of costing a round trip
each: the locks they write under are held for fewer round trips. Changes to a table held changes write are not held
(they are sent, and the held ones first). Unlike rows, changes are read back: any other statement the transaction
sends while they are held (a read, a savepoint, a row written at once) sends them first, so every statement sees
them; if that fails, the block raises the failure when it ends, even if someone in between caught it.

An exception leaving the block (or a `joining()` block that joined it) marks the transaction for rollback, so held
rows are never dropped while the rest commits: within an atomic block, that block (a savepoint rolls back on its
own). A block inside someone else's transaction is opened only where that is what its owner wants on an exception;
to go on after one, the owner wraps the call in `transaction.atomic()`, not `transaction.savepoint()`, whose
rollback Django refuses once the transaction is marked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models, transaction

from . import rawrows


class Held:
    """The rows one `holding()` block holds, in the order they were given."""

    def __init__(self, savepoint_state: int, *, optional_rows: bool = False) -> None:
        self.rows: list[models.Model] = []
        self.takes_optional_rows = optional_rows
        self.holds_optional_rows = False
        self.changes: rawrows.Changes | None = None
        self.failure: BaseException | None = None  # sending held changes failed
        self._savepoint_state = savepoint_state
        self._open = True

    @property
    def holds(self) -> bool:
        return bool(self.rows) or self.changes is not None

    def takes(self, model: type[models.Model]) -> bool:
        return self._at_level() and not rawrows.saves_itself(model)

    def _at_level(self) -> bool:
        return self._open and rawrows.wrapper().savepoint_state == self._savepoint_state

    def hold_changes(self, changes: rawrows.Changes) -> bool:
        if not self._at_level() or rawrows.vendor() != "postgresql":
            return False
        if self.changes is None:
            self.changes = changes
            # First in the list, so outermost: and a wrapper someone pushes meanwhile is the one their context pops.
            rawrows.wrapper().execute_wrappers.insert(0, self._send_changes_first)
        elif not self.changes.joins(changes):
            return False  # sent now, and so the held ones before them
        else:
            self.changes += changes
        return True

    def _take_changes(self) -> rawrows.Changes | None:
        changes, self.changes = self.changes, None
        if changes is not None:
            rawrows.wrapper().execute_wrappers.remove(self._send_changes_first)
        return changes

    def _send_changes_first(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        changes = self._take_changes()
        if changes is not None:
            try:
                rawrows.run(changes)
            except BaseException as exc:
                transaction.set_rollback(True)
                self.failure = exc  # raised again when the block ends, if someone in between swallows it
                raise
        return execute(sql, params, many, context)

    def write(self, *last: Sequence[models.Model]) -> None:
        """The held rows and then `last` (groups of rows of one model each), in one statement where
        `rawrows.insert_together` can."""
        groups: dict[type[models.Model], list[models.Model]] = {}
        for row in self.rows:
            groups.setdefault(type(row), []).append(row)
        self.rows = []
        changes = self._take_changes()
        try:
            rawrows.insert_together(*groups.values(), *last, leading=changes)
        except BaseException:
            # Some values fail before a statement is sent (a JSON value that cannot be encoded): the rows are gone
            # from the block either way, so the transaction must not commit without them.
            transaction.set_rollback(True)
            raise


_held: ContextVar[Held | None] = ContextVar("held_rows", default=None)


@contextmanager
def holding(*, optional_rows: bool = False) -> Iterator[Held]:
    """`optional_rows`: the block also holds rows whose failure must not cost the transaction's other work (a call's
    log row: `insert_optional_later`); its owner, seeing the block's write fail with `held.holds_optional_rows`, runs
    the transaction again without holding them."""
    db = rawrows.wrapper()
    if not db.in_atomic_block:
        raise RuntimeError("holding() needs a transaction: the held rows are written before it commits")
    held = Held(db.savepoint_state, optional_rows=optional_rows)
    token = _held.set(held)
    try:
        yield held
        if held.failure is not None:
            raise held.failure
        held.write()
    except BaseException:
        if held.holds:
            transaction.set_rollback(True)
        raise
    finally:
        held._open = False
        held._take_changes()
        _held.reset(token)


@contextmanager
def joining() -> Iterator[None]:
    """The enclosing `holding()` block where it is at this level (its owner writes what is held, with its own last
    rows), a block of its own otherwise (for a service whose caller may or may not hold rows)."""
    held = _held.get()
    if held is None or not held._at_level():
        with holding():
            yield
        return
    rows, changes = len(held.rows), held.changes
    try:
        yield
    except BaseException:
        if len(held.rows) != rows or held.changes is not changes:
            transaction.set_rollback(True)  # as if the block were its own: nothing it held commits without the rest
        raise


def execute_later(changes: rawrows.Changes) -> None:
    """`rawrows.run(changes)`, held to lead the last statement of the enclosing `holding()` block where that is safe
    (the block's own level, PostgreSQL, no held changes to the same tables; see the module docstring)."""
    held = _held.get()
    if held is None or not held.hold_changes(changes):
        rawrows.run(changes)


def insert_optional_later(obj: models.Model) -> bool:
    """Holds a row the transaction's other work must not depend on, where the enclosing block (at this level) takes
    such rows (`holding(optional_rows=True)`); False otherwise, for the caller to write it its own way (in a
    savepoint of its own)."""
    held = _held.get()
    if held is None or not held.takes_optional_rows or not held.takes(type(obj)):
        return False
    held.rows.append(obj)
    held.holds_optional_rows = True
    return True


def insert_later(obj: models.Model) -> None:
    """`rawrows.insert(obj)`, held to the end of the enclosing `holding()` block where that is safe (see the
    module docstring)."""
    held = _held.get()
    if held is not None and held.takes(type(obj)):
        held.rows.append(obj)
    else:
        rawrows.insert(obj)
