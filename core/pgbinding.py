"""Integer parameters typed as PostgreSQL types the same integer written as a literal, for
server-side binding.

With client-side binding (psycopg's default under Django) a parameter is quoted into the SQL text
and PostgreSQL types `5` as integer and `6442450946` as bigint. With server-side binding psycopg
sends each parameter with a type of its own choosing, and two of its choices change results:

- a plain `int` is typed by its size, so `5` goes as smallint and `%s + %s` with 20000 and 20000
  fails with "smallint out of range" where the same text with literals gives 40000;
- Django wraps the values of integer fields and of untyped `Value(int)` expressions
  (`F("balance") + amount` included) in psycopg's `Int2`/`Int4`/`Int8` by the field's declared
  type, and an `Int4` beyond 2^31 is sent as a 32-bit integer: `balance + 6442450946` silently
  adds -2147483646 (tests/wallets/test_ledger_core.py found it).

So on every server-side binding connection the dumpers for `int`, `Int2` and `Int4` are replaced
by one that chooses as the parser does: integer when the value fits in 32 bits, bigint when it
fits in 64, numeric beyond. A too large value for an integer column then fails on assignment
("integer out of range"), as the literal would, instead of being wrapped. `Int8` (big integer
fields) keeps psycopg's own dumpers: every value it wraps fits.
"""

from __future__ import annotations

from typing import Any

from psycopg.adapt import Dumper, PyFormat
from psycopg.types import numeric

_INT4 = 2**31
_INT8 = 2**63


class _LiteralIntDumper(numeric.IntDumper):
    _int4_dumper = numeric.Int4Dumper(numeric.Int4)
    _int8_dumper = numeric.Int8Dumper(numeric.Int8)
    _int_numeric_dumper = numeric.IntNumericDumper(numeric.IntNumeric)

    def get_key(self, obj: int, format: PyFormat) -> type:
        # The chosen dumper's class, never the value's own: an `Int4` that fits must still be handed
        # to the 32-bit dumper, not back to this dispatcher (psycopg keeps a dumper whose key is the
        # value's type).
        return type(self.upgrade(obj, format))

    def upgrade(self, obj: int, format: PyFormat) -> Dumper:
        if -_INT4 <= obj < _INT4:
            return self._int4_dumper
        if -_INT8 <= obj < _INT8:
            return self._int8_dumper
        return self._int_numeric_dumper


class _LiteralIntBinaryDumper(_LiteralIntDumper):
    format = numeric.Format.BINARY
    _int4_dumper = numeric.Int4BinaryDumper(numeric.Int4)
    _int8_dumper = numeric.Int8BinaryDumper(numeric.Int8)
    _int_numeric_dumper = numeric.IntNumericBinaryDumper(numeric.IntNumeric)


def type_integers_as_literals(adapters: Any) -> None:
    """Registers the literal-like integer dumpers on a psycopg connection's (or context's) adapters."""
    for cls in (int, numeric.Int2, numeric.Int4):
        adapters.register_dumper(cls, _LiteralIntDumper)
        adapters.register_dumper(cls, _LiteralIntBinaryDumper)


# psycopg parses a statement's `%s` placeholders once and keeps the result (an LRU of 128), but not for a statement
# over 50 parameters or 4 KB: that is meant for ORM batches of varying size that would only churn the cache. The
# statements `core.rawrows` keeps are built once and sent again and again, and a transaction's rows written together
# (`insert_together`) pass 50 parameters: parsed anew each time, ~0.7 M instructions per MCP payment. Raised to
# where a kept statement fits; the cache stays bounded (128 entries of at most 16 KB and 256 parameters).
CACHED_STATEMENT_PARAMS = 256
CACHED_STATEMENT_LENGTH = 16_384


def cache_longer_statements() -> None:
    """Raises psycopg's limits for keeping a statement's parsed placeholders (module settings of psycopg's query
    conversion, read at each call; tests/foundation/test_pgbinding.py checks that a kept statement of 100
    parameters is parsed once, so a psycopg release that moves them is noticed)."""
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, CACHED_STATEMENT_PARAMS)
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, CACHED_STATEMENT_LENGTH)


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: applies the dumpers where the connection binds on the server."""
    if connection.vendor == "postgresql" and connection.features.uses_server_side_binding:
        type_integers_as_literals(connection.connection.adapters)

