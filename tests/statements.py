"""The SQL a block sends, as short names, and grouped by what commits it (issue 12 counts both)."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

_TABLE = re.compile(r'^(UPDATE)\s+"?(\w+)|^(SELECT|INSERT|DELETE|WITH)\b.*?\b(?:FROM|INTO)\s+"?(\w+)', re.DOTALL)


def name(sql: str) -> str:
    """`BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, `lock+read` (the advisory lock with the
    idempotency record), `lock` (the lock alone), or the verb and first table: `INSERT core_idempotencyrecord`
    (`WITH` for a statement whose WITH clauses write, `SELECT` for one that only reads)."""
    if sql.startswith("BEGIN"):
        return "BEGIN"  # SQLite sends BEGIN IMMEDIATE
    if sql in ("COMMIT", "ROLLBACK"):
        return sql
    if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
        return sql.split()[0]
    if sql.startswith("SELECT pg_try_advisory_xact_lock"):
        return "lock+read" if "LEFT JOIN" in sql else "lock"
    match = _TABLE.match(sql)
    if match is None:
        return sql[:40]
    verb, table = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    if verb == "WITH" and not written(sql):
        verb = "SELECT"  # WITH clauses that only read (and lock): wallets.services.wallet_lock_with_accounts
    return f"{verb} {table}"


# A write at the start of a statement, of a WITH clause (`w0 AS (INSERT ...`) or after the clauses (`) INSERT ...`):
# not the `DO UPDATE` of an upsert nor a `FOR UPDATE` lock.
_WRITE = re.compile(r'(?:^|\bAS\s*\(|\)\s)\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)


def written(sql: str) -> list[str]:
    """The tables a statement writes, in order, those of its WITH clauses included (rawrows.insert_together
    and the ledger write send several writes as one statement)."""
    return [table.lower() for table in _WRITE.findall(sql)]


def names(queries: CaptureQueriesContext) -> list[str]:
    return [name(q["sql"]) for q in queries.captured_queries]


def commits(queries: CaptureQueriesContext) -> list[list[str]]:
    """Each committed unit of work: the statements of a transaction that committed, or a write sent
    outside any transaction (autocommit). Reads outside a transaction and rolled-back transactions
    are left out."""
    units: list[list[str]] = []
    current: list[str] | None = None
    for statement in names(queries):
        if statement == "BEGIN":
            current = []
        elif statement == "COMMIT":
            units.append(current or [])
            current = None
        elif statement == "ROLLBACK":
            current = None
        elif current is not None:
            current.append(statement)
        elif not statement.startswith("SELECT"):
            units.append([statement])
    return units


def lock_read() -> str:
    """How `execute_write` takes a key and reads its record in its own transaction: one statement on
    PostgreSQL, a plain read on SQLite (whose IMMEDIATE transactions serialise writers)."""
    return "lock+read" if connection.vendor == "postgresql" else "SELECT core_idempotencyrecord"
