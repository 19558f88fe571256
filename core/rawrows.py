"""Model instances read by a hand-written statement, for the few statements on every write's path
whose compiling by Django costs more than running them: the wallets' row lock, for one, took ~0.8 ms
of CPU to compile and ~0.3 ms to send, run and read (docs/PERFORMANCE.md, "HTTP doors").

`ModelColumns(model, alias)` is one model's columns in a select list: `select` for the SQL, `load`
to build the instance from its slice of a row with the same conversions the ORM applies (a JSON
field decoded, SQLite's text times parsed), so the instance is what a queryset would have given.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import NOT_PROVIDED, AutoFieldMixin
from django.db.models.signals import post_save, pre_save

M = TypeVar("M", bound=models.Model)


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
    """`obj.<field_name>` reads `related` without a query, as `select_related` would have left it."""
    obj._meta.get_field(field_name).set_cached_value(obj, related)  # type: ignore[union-attr]


_insert_sql: dict[tuple[str, type[models.Model]], tuple[str, list[models.Field[Any, Any]], bool]] = {}


def insert(obj: models.Model) -> None:
    """Writes a new instance as `save(force_insert=True)` would, with a statement built once per model:
    for the append-only rows every write adds (audit events, events, idempotency records), whose
    INSERT Django compiles anew each time for ~0.2 ms of CPU. Where the ORM's save would do more than
    one plain INSERT (a receiver of `pre_save`/`post_save`, a database default, an expression as a
    value), it is the ORM's save that runs."""
    model = type(obj)
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        obj.save(force_insert=True)
        return
    shape = (connection.vendor, model)
    built = _insert_sql.get(shape)
    if built is None:
        built = _insert_sql[shape] = _insert_statement(model)
    sql, fields, returns_pk = built
    if returns_pk and obj.pk is not None:
        obj.save(force_insert=True)  # an auto key given by the caller: the ORM's statement has the column
        return
    values = [field.pre_save(obj, True) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        obj.save(force_insert=True)
        return
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returns_pk:
            pk = model._meta.pk
            assert pk is not None
            if connection.features.can_return_columns_from_insert:
                row = cursor.fetchone()
                assert row is not None
                obj.pk = row[0]
            else:
                obj.pk = connection.ops.last_insert_id(cursor, model._meta.db_table, str(pk.column))
    obj._state.adding = False
    obj._state.db = connection.alias


def _insert_statement(model: type[models.Model]) -> tuple[str, list[models.Field[Any, Any]], bool]:
    pk = model._meta.pk
    auto_pk = isinstance(pk, AutoFieldMixin)
    fields = [field for field in model._meta.concrete_fields if not (auto_pk and field is pk)]
    if any(field.db_default is not NOT_PROVIDED for field in fields) or any(field.generated for field in fields):
        raise ImproperlyConfigured(f"core.rawrows.insert writes every column itself: {model._meta.label} has a "
                                   "database default or a generated field; save it with the ORM.")
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    if auto_pk and connection.features.can_return_columns_from_insert:
        assert pk is not None
        sql += f" RETURNING {quote(str(pk.column))}"
    return sql, fields, auto_pk
