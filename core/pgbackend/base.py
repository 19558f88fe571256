"""Django's PostgreSQL backend (settings choose it for every `postgres://` DATABASE_URL), but for one schema
rule: no `<column>_like` index beside the index of a text column.

Django adds that second index (`varchar_pattern_ops`) to every indexed or unique text column, for
`startswith` lookups outside the C locale. Here the text columns with indexes are ids, foreign keys to ids and
codes (status, provider, kind), which nothing searches by prefix (admin searches are case-insensitive, which that
index cannot serve either), and each such index is written on every insert and every update that is not HOT: a
payment had 21 indexes, 6 of them `_like`. Without them (and four single-column indexes that composite ones cover)
an MCP payment writes 16 % less WAL and touches 22 % fewer buffers (docs/PERFORMANCE.md). A column that needs prefix
search declares its own index with `opclasses`.
core/migrations/0011 drops the ones that databases made before this backend already have."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _create_like_index_sql(self, model: Any, field: Any) -> None:
        return None


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
