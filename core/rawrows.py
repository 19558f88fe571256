"""Model instances read by a hand-written statement, for the few statements on every write's path
whose compiling by Django costs more than running them: the wallets' row lock, for one, took ~0.8 ms
of CPU to compile and ~0.3 ms to send, run and read (docs/PERFORMANCE.md, "HTTP doors").

`ModelColumns(model, alias)` is one model's columns in a select list: `select` for the SQL, `load`
to build the instance from its slice of a row with the same conversions the ORM applies (a JSON
field decoded, SQLite's text times parsed), so the instance is what a queryset would have given.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

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
