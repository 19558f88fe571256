"""Model instances read by a hand-written statement, for the few statements on every write's path
whose compiling by Django costs more than running them: the wallets' row lock, for one, took ~0.8 ms
of CPU to compile and ~0.3 ms to send, run and read (docs/PERFORMANCE.md, "HTTP doors").

`ModelColumns(model, alias)` is one model's columns in a select list: `select` for the SQL, `load`
to build the instance from its slice of a row with the same conversions the ORM applies (a JSON
field decoded, SQLite's text times parsed), so the instance is what a queryset would have given.

`insert(obj)` and `insert_many(objs)` write new rows as `save(force_insert=True)` and `bulk_create`
would, with an INSERT built once per model and row count instead of compiled on every call; `copy_in(objs)`
writes a batch of rows that carry their own keys by COPY on PostgreSQL.

`fetch(model, lock=, **where)` and `update(model, values, **where)` are `filter(...)` (in key order, with
`select_for_update()` when locking) and `filter(...).update(...)` for conditions of equality and `in`.

`cursor()` is `connection.cursor()` without a new cursor per statement, for all of the above and the other
hand-written statements on the write paths.

`Changes` is a PostgreSQL statement made of data-modifying parts (the ledger's entry, postings and balances) that
`run(changes)` sends on its own and `insert_together(..., leading=changes)` sends as the first WITH clauses of the
rows' INSERT: one round trip for both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import NOT_PROVIDED, AutoFieldMixin
from django.db.models.signals import post_save, pre_save

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")


def wrapper() -> BaseDatabaseWrapper:
    """The connection itself, not `django.db.connection`, the proxy that looks it up on each attribute read: the
    fields' value preparation reads it a hundred times a request."""
    return connections[DEFAULT_DB_ALIAS]


@functools.cache
def vendor() -> str:
    """The default database's vendor ("postgresql", "sqlite"): fixed for the process by its ENGINE setting, so read
    once instead of through the connection at every statement."""
    return wrapper().vendor


_STR_AS_GIVEN = frozenset({models.CharField, models.TextField})


def db_values(fields: Sequence[Any], values: Sequence[Any], db: BaseDatabaseWrapper) -> list[Any]:
    """`field.get_db_prep_save(value, db)` for each pair. A str for a plain CharField or TextField is returned as
    it is, which is what those three nested calls return for it: a write's hundred-odd text values skip them."""
    return [value if type(value) is str and type(field) in _STR_AS_GIVEN else field.get_db_prep_save(value, db)
            for field, value in zip(fields, values, strict=True)]


class _KeptCursor:
    __slots__ = ("busy", "connection", "cursor", "timezone")

    def __init__(self, connection: Any, cursor: Any, timezone: Any) -> None:
        self.connection, self.cursor, self.timezone, self.busy = connection, cursor, timezone, False


@contextmanager
def cursor() -> Iterator[Any]:
    """`connection.cursor()` for a hand-written statement whose rows are read before the block ends, without a new
    cursor each time: Django builds a wrapper and psycopg a cursor (with its own cache of parameter dumpers) for
    every statement, ~4 % of a request's instructions. One cursor is kept per connection (so per thread) while the
    connection lasts; a block inside another's, or a logging connection (DEBUG, CaptureQueriesContext), gets a new
    one as before. Execute wrappers apply as on any cursor: Django's wrapper reads them at each call."""
    db = wrapper()
    kept_cursor: _KeptCursor | None = db.__dict__.get("_rawrows_cursor")
    # A connection shared between threads (a test's live server on in-memory SQLite) keeps nothing: the busy
    # flag is not a lock.
    if db.queries_logged or db.allow_thread_sharing or (kept_cursor is not None and kept_cursor.busy):
        with db.cursor() as fresh:
            yield fresh
        return
    # What db.cursor() does first: a connection found broken by the health check is replaced.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    # Django gives a new cursor the connection's time zone (its loader of timestamps): a changed one (a test's
    # override of TIME_ZONE or USE_TZ replaces db.timezone) needs a new cursor too.
    if (kept_cursor is None or kept_cursor.connection is not db.connection or kept_cursor.timezone is not db.timezone
            or getattr(kept_cursor.cursor.cursor, "closed", False)):  # psycopg's says; sqlite3's has none
        kept_cursor = db.__dict__["_rawrows_cursor"] = _KeptCursor(db.connection, db.cursor(), db.timezone)
    kept_cursor.busy = True
    try:
        yield kept_cursor.cursor
    finally:
        kept_cursor.busy = False


class ModelColumns(Generic[M]):
    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self._converters: dict[str, list[tuple[int, list[Any], Any]]] = {}

    def select(self, connection: BaseDatabaseWrapper) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{quote(self.alias)}.{quote(str(field.column))}" for field in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def _converters_for(self, connection: BaseDatabaseWrapper) -> list[tuple[int, list[Any], Any]]:
        found = self._converters.get(connection.vendor)
        if found is None:
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                # As the ORM's compiler does: the backend's (SQLite's text times) and then the field's.
                converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if converters:
                    found.append((index, converters, column))
            self._converters[connection.vendor] = found
        return found

    def load(self, row: tuple[Any, ...] | list[Any], start: int, connection: BaseDatabaseWrapper) -> M:
        values = list(row[start:start + len(self.fields)])
        for index, converters, column in self._converters_for(connection):
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def attach(obj: models.Model, field_name: str, related: models.Model) -> None:
    """`obj.<field_name>` reads `related` without a query, as `select_related` would have left it (a
    one-to-one's other side too: `related.<reverse name>` is `obj`)."""
    field = obj._meta.get_field(field_name)
    field.set_cached_value(obj, related)  # type: ignore[union-attr]
    if field.one_to_one:
        field.remote_field.set_cached_value(related, obj)  # type: ignore[union-attr]


# Statements are kept for batches up to this many rows (a request writes a few; the billing cycle's larger
# batches build theirs each time, a cost their size dwarfs).
_KEPT_ROWS = 16
_kept: dict[Hashable, Any] = {}


def kept(key: Hashable, build: Callable[[], T], *, rows: int = 1) -> T:
    """`build()`, once per `key` in this process: a hand-written statement (with whatever else it returns).
    The key names everything the statement depends on (the database's vendor, the model, the row count);
    statements for more than `_KEPT_ROWS` rows are built each time instead of kept."""
    if key in _kept:
        return cast(T, _kept[key])
    built = build()
    if rows <= _KEPT_ROWS:
        _kept[key] = built
    return built


# The SQL, the fields of its values, whether it returns the rows' keys.
_Statement = tuple[str, list["models.Field[Any, Any]"], bool]
# Parameters per statement, below PostgreSQL's 65,535 (and the backend's own limit where it states one: Django
# assumes 999 for SQLite): bigger batches go to bulk_create, which splits them.
_MAX_PARAMS = 30_000


def insert(obj: models.Model) -> None:
    """Writes a new instance as `save(force_insert=True)` would, with a statement built once per model:
    for the append-only rows every write adds (audit events, events, idempotency records), whose
    INSERT Django compiles anew each time for ~0.2 ms of CPU. Where the ORM's save would do more than
    one plain INSERT (a receiver of `pre_save`/`post_save`, a database default, an expression as a
    value), it is the ORM's save that runs."""
    if saves_itself(type(obj)):
        obj.save(force_insert=True)  # a save of its own, or receivers: only the ORM's save runs them
        return
    if not _write([obj]):
        obj.save(force_insert=True)


def saves_itself(model: type[models.Model]) -> bool:
    """Whether a row of `model` must be written by its own `save()`: the model overrides it, or receivers of
    `pre_save`/`post_save` listen to it."""
    return model.save is not models.Model.save or pre_save.has_listeners(model) or post_save.has_listeners(model)


def insert_many(objs: Sequence[M]) -> list[M]:
    """`Model.objects.bulk_create(objs)` (new rows of one model, no signals, as bulk_create sends none) in
    one INSERT built once per model and row count; bulk_create itself where that does more (an
    expression as a value, a batch too big for one statement)."""
    if not objs:
        return list(objs)
    model = type(objs[0])
    if any(type(obj) is not model for obj in objs):
        raise TypeError("insert_many writes rows of one model")
    if not _write(objs):
        model._default_manager.bulk_create(objs)
    return list(objs)


def copy_in(objs: Sequence[M]) -> None:
    """New rows of one model whose every column Python fills (its key included), no signals (as bulk_create sends
    none): by COPY on PostgreSQL, which costs a batch of request-log rows about half of `insert_many`'s CPU per row
    in this process and less in PostgreSQL's (docs/PERFORMANCE.md); `insert_many` elsewhere (SQLite) and for a
    model whose key or other columns the database fills. Nothing comes back: the rows already have their keys."""
    if not objs:
        return
    model = type(objs[0])
    if any(type(obj) is not model for obj in objs):
        raise TypeError("copy_in writes rows of one model")
    fields = _copy_fields(model) if vendor() == "postgresql" else None
    if fields is None:
        insert_many(objs)
        return
    db = wrapper()
    rows = []
    for obj in objs:
        values = [field.pre_save(obj, True) for field in fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            insert_many(objs)  # an expression as a value: the ORM's statement computes it
            return
        rows.append(db_values(fields, values, db))
    quote = connection.ops.quote_name
    statement = (f"COPY {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "
                 "FROM STDIN")

    def send(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
        # Django's error classes (IntegrityError...), as its own execute raises them.
        with db.wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), cursor() as cur:
        # Through the connection's execute wrappers, as every other statement goes (what watches or counts them).
        cur._execute_with_wrappers(statement, None, False, send)
    _written(objs)


def _copy_fields(model: type[models.Model]) -> list[models.Field[Any, Any]] | None:
    """The columns COPY writes, or None where the database fills one (an auto key, a default of its own)."""
    fields = list(model._meta.concrete_fields)
    if model._meta.parents or isinstance(model._meta.pk, AutoFieldMixin) or any(
            field.db_default is not NOT_PROVIDED or field.generated for field in fields):
        return None
    return fields


@dataclass(frozen=True)
class Changes:
    """Data-modifying statements for PostgreSQL sent as one: the parts before the last as WITH clauses of the last.
    A part refers to an earlier part of the same changes only by `Changes.ref(n)` (its WITH name, given when the
    statement is put together); `rows` is how many rows the last must touch (an UPDATE of rows locked earlier in the
    transaction), checked, and then it ends with `RETURNING 1`. `tables`: the tables the parts write. Every part of
    one statement sees the database as it was before the statement, so changes that write a common table cannot go
    in one (a row updated twice keeps one update; an update misses the rows the other inserts).

    `guarded`: parts whose count falls short where a guard in the statement refused (rows read earlier without their
    locks no longer allow the write): that raises `GuardFailed`, which the transaction's owner retries; any other
    count that differs is a defect (RuntimeError).

    `a + b` (where `a.joins(b)`): both in one statement, each part's count still checked."""

    parts: tuple[tuple[str, list[Any]], ...]
    rows: int | None = None
    tables: frozenset[str] = frozenset()
    # (part, rows) for the parts before the last whose counts are checked: what `+` carries over.
    checks: tuple[tuple[int, int], ...] = ()
    guarded: frozenset[int] = frozenset()

    @staticmethod
    def ref(part: int) -> str:
        """How a part names the `part`-th part (counted from 0 in its own changes) in its SQL."""
        return f"__part{part}__"

    @property
    def params(self) -> list[Any]:
        return [param for _, params in self.parts for param in params]

    @property
    def counted(self) -> tuple[tuple[int, int], ...]:
        return self.checks + (((len(self.parts) - 1, self.rows),) if self.rows is not None else ())

    def joins(self, other: Changes) -> bool:
        """Whether `other` can go in one statement with these: no table in common, the parameters within bounds."""
        return (not self.tables & other.tables
                and sum(len(p) for _, p in self.parts + other.parts) <= _MAX_PARAMS)

    def __add__(self, other: Changes) -> Changes:
        if not self.joins(other):
            raise ValueError(f"changes to {sorted(self.tables)} and {sorted(other.tables)}: not one statement")
        shift = len(self.parts)
        moved = tuple((_shift_refs(sql, shift), params) for sql, params in other.parts)
        return Changes(self.parts + moved, tables=self.tables | other.tables,
                       checks=self.counted + tuple((part + shift, rows) for part, rows in other.counted),
                       guarded=self.guarded | {part + shift for part in other.guarded})


class GuardFailed(OperationalError):
    """A write built from rows read without their locks found, when its statement took them, that they no longer
    allow it (`Changes.guarded`). Nothing of the transaction may commit: its owner (core.db.run_in_transaction) rolls
    it back and runs it again, and the second time the write takes its locks first."""

    sqlstate = "40001"  # what it is: a serialization failure, retried as one


_REF = re.compile(r"__part(\d+)__")


def _shift_refs(sql: str, shift: int) -> str:
    return _REF.sub(lambda m: Changes.ref(int(m[1]) + shift), sql) if "__part" in sql else sql


def _named(sql: str, prefix: str) -> str:
    """A part's SQL with its references to other parts replaced by their WITH names (`prefix` + index)."""
    return _REF.sub(lambda m: f"{prefix}{m[1]}", sql) if "__part" in sql else sql


def run(changes: Changes) -> None:
    """`changes` on their own: one statement, which returns the counts to check where the last part's is not all."""
    counted = changes.counted
    last_only = all(part == len(changes.parts) - 1 for part, _ in counted)
    ctes = changes.parts[:-1] if last_only else changes.parts
    sql = "".join(f"{'WITH' if i == 0 else ','} c{i} AS ({_named(part, 'c')}) " for i, (part, _) in enumerate(ctes))
    sql += _named(changes.parts[-1][0], "c") if last_only else "SELECT " + ", ".join(
        f"(SELECT count(*) FROM c{part})" for part, _ in counted)
    with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), cursor() as cur:
        cur.execute(sql, changes.params)
        _check_touched([cur.rowcount] * len(counted) if last_only else cur.fetchone(), counted, changes.guarded)


def _check_touched(touched: Sequence[int], counted: Sequence[tuple[int, int]],
                   guarded: frozenset[int] = frozenset()) -> None:
    for count, (part, rows) in zip(touched, counted, strict=True):
        if count < rows and part in guarded:
            raise GuardFailed(f"a guarded statement touched {count} of its {rows} rows: they changed since read")
    for count, (_, rows) in zip(touched, counted, strict=True):
        if count != rows:
            raise RuntimeError(f"a statement touched {count} rows where {rows} are locked")


def insert_together(*groups: Sequence[models.Model], leading: Changes | None = None) -> None:
    """`insert_many(group)` for each group in turn (rows of one model each, written in the order given), in one
    statement on PostgreSQL: the INSERTs before the last as data-modifying WITH clauses of the last, so a
    transaction's append-only rows (a payment, its attempt, audit event and event) cost one round trip. Groups
    the kept statements cannot write, a key the database returns (but the last group's, which the statement
    returns), or another database: one statement per group, as insert_many. Foreign keys between the groups are
    checked when the transaction commits (Django declares them deferred), as with separate statements.

    `leading`: changes made first, as the first WITH clauses of the same statement where it can be one (the count of
    rows they touch comes back with the statement's RETURNING and is checked), on their own before the rows
    otherwise."""
    groups = tuple(group for group in groups if group)
    for group in groups:
        if any(type(obj) is not type(group[0]) for obj in group):
            raise TypeError("insert_together writes rows of one model per group")
    ready = _combinable(groups, leading)
    if ready is None:
        if leading is not None:
            run(leading)
        for group in groups:
            insert_many(group)
        return
    *first, last = (sql for sql, _, _ in ready)
    parts = [part for part, _ in leading.parts] if leading is not None else []
    parts += first
    sql = "".join(f"{'WITH' if i == 0 else ','} w{i} AS ({_named(part, 'w')}) " for i, part in enumerate(parts)) + last
    counted = leading.counted if leading is not None else ()
    if counted:
        # The leading changes' counts, once per row the statement returns (a WITH clause nothing reads still runs).
        counts = ", ".join(f"(SELECT count(*) FROM w{part})" for part, _ in counted)
        sql += f", {counts}" if ready[-1][2] else f" RETURNING {counts}"
    values = leading.params if leading is not None else []
    values += [param for _, params, _ in ready for param in params]
    with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), cursor() as cur:
        cur.execute(sql, values)
        if counted or ready[-1][2]:
            returned = cur.fetchall()
            if counted:
                guarded = leading.guarded if leading is not None else frozenset()
                _check_touched(returned[0][len(returned[0]) - len(counted):], counted, guarded)
            if ready[-1][2]:
                _keys_from(returned, groups[-1])
    for group in groups:
        _written(group)


def _combinable(groups: Sequence[Sequence[models.Model]],
                leading: Changes | None) -> list[tuple[str, list[Any], bool]] | None:
    """Each group's kept INSERT with its parameters, where the groups (and the leading changes) can go as one
    statement (PostgreSQL, two parts or more); None where they cannot, with nothing prepared if the statements
    already say so."""
    if not groups or len(groups) + (leading is not None) < 2 or vendor() != "postgresql":
        return None
    built = [_insert_built(group) for group in groups]
    # A group whose keys the database makes must be written before a later group's rows can refer to them; the last
    # group's come back from the statement's own RETURNING.
    if any(statement is None for statement in built) or any(s is not None and s[2] for s in built[:-1]):
        return None
    prepared = [_prepared(group, statement) for group, statement in zip(groups, built, strict=True)]
    ready = [item for item in prepared if item is not None]
    leading_params = len(leading.params) if leading is not None else 0
    if len(ready) < len(prepared) or leading_params + sum(len(params) for _, params, _ in ready) > _MAX_PARAMS:
        return None
    return ready


def _write(objs: Sequence[models.Model]) -> bool:
    """The rows written with the kept statement, or False (nothing written) for the ORM to write them."""
    prepared = _prepared(objs, _insert_built(objs))
    if prepared is None:
        return False
    sql, params, returns_pk = prepared
    # As the ORM's save: a failed INSERT (a unique key taken) marks the enclosing atomic block for rollback.
    with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), cursor() as cur:
        cur.execute(sql, params)
        if returns_pk:
            _take_keys(cur, objs)
    _written(objs)
    return True


def _prepared(objs: Sequence[models.Model], built: _Statement | None) -> tuple[str, list[Any], bool] | None:
    """The kept INSERT (`built`, from `_insert_built`) for these rows, its parameters and whether it returns their
    keys; None where the ORM must write them (nothing has been sent)."""
    if built is None:
        return None
    sql, fields, returns_pk = built
    db = wrapper()
    if len(fields) * len(objs) > min(_MAX_PARAMS, db.features.max_query_params or _MAX_PARAMS):
        return None
    if not returns_pk and any(obj.pk is None for obj in objs):
        return None  # a key the ORM generates on save (get_pk_value_on_save)
    if returns_pk and any(obj.pk is not None for obj in objs):
        return None  # an auto key given by the caller: the ORM's statement has the column
    params: list[Any] = []
    for obj in objs:
        # A related row's key copied to its column, an unsaved one refused: the ORM's step before any insert.
        obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]  # not in the stubs
        values = [field.pre_save(obj, True) for field in fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            return None
        params.extend(db_values(fields, values, db))
    return sql, params, returns_pk


def _insert_built(objs: Sequence[models.Model]) -> _Statement | None:
    model = type(objs[0])
    return kept(("insert", vendor(), model, len(objs)), lambda: _insert_statement(model, len(objs)),
                rows=len(objs))


def _written(objs: Sequence[models.Model]) -> None:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS


def _take_keys(cursor: Any, objs: Sequence[models.Model]) -> None:
    pk = objs[0]._meta.pk
    assert pk is not None
    if wrapper().features.can_return_columns_from_insert:  # the statement ends with RETURNING
        _keys_from(cursor.fetchall(), objs)
    else:
        if len(objs) != 1:
            raise NotImplementedError("several auto keys need INSERT ... RETURNING")
        objs[0].pk = connection.ops.last_insert_id(cursor, objs[0]._meta.db_table, str(pk.column))


def _keys_from(rows: Sequence[Sequence[Any]], objs: Sequence[models.Model]) -> None:
    # The rows come back in the VALUES order on both databases (Django's bulk_create relies on it).
    for obj, row in zip(objs, rows, strict=True):
        obj.pk = row[0]


def _insert_statement(model: type[models.Model], rows: int) -> _Statement | None:
    if model._meta.parents:
        return None  # multi-table inheritance: one row per table, the ORM's work
    pk = model._meta.pk
    auto_pk = isinstance(pk, AutoFieldMixin)
    fields = [field for field in model._meta.concrete_fields if not (auto_pk and field is pk)]
    if any(field.db_default is not NOT_PROVIDED for field in fields) or any(field.generated for field in fields):
        return None  # columns the database fills: the ORM knows to leave them out
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "
           f"VALUES {', '.join([row] * rows)}")
    if auto_pk and connection.features.can_return_columns_from_insert:
        assert pk is not None
        sql += f" RETURNING {quote(str(pk.column))}"
    return sql, fields, auto_pk


# --- reads and updates by equality -------------------------------------------------------------------------------
# A condition's shape: the field's column and how it compares (0: IS NULL; -1: equals; n: IN with n values).
_Where = tuple[tuple["models.Field[Any, Any]", int], ...]


def _where(model: type[models.Model], where: dict[str, Any]) -> tuple[_Where, list[Any]] | None:
    """The conditions' shape and parameters, or None when one of them can match nothing (an empty list)."""
    if model._meta.parents:
        raise TypeError(f"{model.__name__} inherits its table's columns from another: use the ORM")
    shape: list[tuple[models.Field[Any, Any], int]] = []
    params: list[Any] = []
    db = wrapper()
    for name, value in sorted(where.items()):
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        if not isinstance(field, models.Field) or not field.concrete:
            raise TypeError(f"{model.__name__}.{name} is not a column")
        if isinstance(value, models.Model):
            raise TypeError(f"{model.__name__}.{name}: give the key, not the instance")
        if isinstance(field, models.JSONField):
            # The ORM's JSON equality (None matching a JSON null, say) is not a column's: left to it.
            raise TypeError(f"{model.__name__}.{name}: compare JSON through the ORM")
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else None
        if values is None:
            shape.append((field, -1 if value is not None else 0))
            if value is not None:
                params.append(_lookup_value(field, value, db))
        elif not values:
            return None
        else:
            shape.append((field, len(values)))
            params.extend(_lookup_value(field, item, db) for item in values)
    return tuple(shape), params


def _lookup_value(field: models.Field[Any, Any], value: Any, db: BaseDatabaseWrapper) -> Any:
    # As the ORM's exact and `in` lookups prepare their right-hand side.
    return field.get_db_prep_value(field.get_prep_value(value), db, prepared=True)


def _size(shape: _Where) -> int:
    """How many values the conditions compare with: what decides whether the statement is kept."""
    return sum(max(arity, 1) for _, arity in shape)


def _where_sql(shape: _Where, alias: str) -> str:
    quote = connection.ops.quote_name
    parts = []
    for field, arity in shape:
        column = f"{quote(alias)}.{quote(str(field.column))}"
        if arity == 0:
            parts.append(f"{column} IS NULL")
        elif arity == -1:
            parts.append(f"{column} = %s")
        else:
            parts.append(f"{column} IN ({', '.join(['%s'] * arity)})")
    return " AND ".join(parts)


def fetch(model: type[M], *, lock: bool = False, **where: Any) -> list[M]:
    """`model.objects.filter(**where).order_by("pk")`, with `select_for_update()` when `lock`: each condition a
    column equal to a value (None: IS NULL) or, given a list, in it. The statement is built once per shape, for
    the reads on every write's path (an idempotency record, a customer, the payments to settle) whose compiling
    by Django costs more than running them. Rows come in key order, the order locks are taken in."""
    found = _where(model, where)
    if found is None:
        return []  # as the ORM: nothing can match, nothing runs (not even the lock's check)
    shape, params = found
    db = wrapper()
    lock = lock and db.features.has_select_for_update  # SQLite: the ORM drops FOR UPDATE too
    if lock and db.features.supports_transactions and db.get_autocommit():
        raise transaction.TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    sql, columns = kept(("fetch", vendor(), model, shape, lock), lambda: _fetch_statement(model, shape, lock),
                        rows=_size(shape))
    with cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [columns.load(row, 0, db) for row in rows]


def _fetch_statement(model: type[M], shape: _Where, lock: bool) -> tuple[str, ModelColumns[M]]:
    columns = ModelColumns(model, "t")
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    sql = (f"SELECT {columns.select(connection)} FROM {quote(model._meta.db_table)} AS {quote('t')} "
           f"WHERE {_where_sql(shape, 't')} ORDER BY {quote('t')}.{quote(str(pk.column))} ASC")
    return sql + (" FOR UPDATE" if lock else ""), columns


def update(model: type[models.Model], values: dict[str, Any], **where: Any) -> int:
    """`model.objects.filter(**where).update(**values)` with plain values (no expressions), the statement built
    once per shape; the number of rows changed. No signals, as `update` sends none."""
    if _has_expression(values):
        return int(model._default_manager.filter(**where).update(**values))
    found = _update_statement(model, values, where)
    if found is None:
        return 0  # as the ORM's update: nothing to match, or nothing to set
    with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), cursor() as cur:
        cur.execute(*found)
        return int(cur.rowcount)


def update_changes(model: type[models.Model], values: dict[str, Any], **where: Any) -> Changes | None:
    """`update(...)` as changes to send later (`core.heldrows.execute_later`), its count unchecked; None where it
    would change nothing."""
    if _has_expression(values):
        raise TypeError(f"{model.__name__}: changes are plain values")
    found = _update_statement(model, values, where)
    return None if found is None else Changes((found,), tables=frozenset({model._meta.db_table}))


def _has_expression(values: dict[str, Any]) -> bool:
    return any(hasattr(value, "resolve_expression") for value in values.values())


def _update_statement(model: type[models.Model], values: dict[str, Any],
                      where: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """The kept UPDATE of plain values and its parameters; None where it would change nothing."""
    found = _where(model, where)
    if found is None or not values:
        return None
    shape, params = found
    names = sorted(values)
    fields = [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in names]
    if any(not field.concrete or isinstance(values[name], models.Model) for name, field in zip(names, fields,
                                                                                            strict=True)):
        raise TypeError(f"{model.__name__}: update columns with plain values")
    def build() -> str:
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
        # The table aliased as the WHERE expects: both databases accept `UPDATE t AS alias`.
        return f"UPDATE {quote(model._meta.db_table)} AS {quote('t')} SET {assignments} WHERE {_where_sql(shape, 't')}"

    sql = kept(("update", vendor(), model, tuple(names), shape), build, rows=_size(shape))
    sets = db_values(fields, [values[name] for name in names], wrapper())
    return sql, [*sets, *params]
