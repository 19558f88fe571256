"""The write step of the posting engine: entry, postings and new balances, already validated.

On PostgreSQL it is one statement (the entry and postings inserted in CTEs, the balances
updated from a VALUES list): one round trip instead of three on the hottest path of the
product, measured in `bench/ledger.py`. Elsewhere (SQLite quick start) the ORM writes the
same rows. Both paths are exercised by the ledger tests; `verify_ledger` checks the result.
"""

from __future__ import annotations

import json

from django.db import connection
from django.db.models import BigIntegerField, Case, F, Value, When

from .models import JournalEntry, LedgerAccount, Posting

BIG = BigIntegerField()

_ENTRY_COLUMNS = ("id", "kind", "description", "actor_type", "actor_id", "actor_label", "idempotency_key",
                  "metadata", "reverses_id", "created")
_POSTING_COLUMNS = ("entry_id", "account_id", "amount", "currency", "balance_after", "kind", "created")


def write_entry(entry: JournalEntry, rows: list[Posting], balances: dict[int, int], release: dict[int, int]) -> None:
    """`balances`: new posted balance per account (absolute: the rows are locked); `release`: pending
    debits to subtract. Every account in either map gets version + 1."""
    if connection.vendor == "postgresql":
        _write_pg(entry, rows, balances, release)
    else:
        _write_orm(entry, rows, balances, release)
    entry._state.adding = False
    entry._state.db = "default"


def _write_pg(entry, rows, balances, release) -> None:
    params: list = [getattr(entry, c) for c in _ENTRY_COLUMNS]
    params[_ENTRY_COLUMNS.index("metadata")] = json.dumps(entry.metadata)
    posting_values = []
    for row in rows:
        posting_values.append("(%s, %s, %s, %s, %s, %s, %s)")
        params.extend(getattr(row, c) for c in _POSTING_COLUMNS)
    account_values = []
    for pk in sorted(balances.keys() | release.keys()):
        account_values.append("(%s::bigint, %s::bigint, %s::bigint)")
        params.extend([pk, balances.get(pk), release.get(pk, 0)])
    entry_placeholders = ", ".join("%s::jsonb" if c == "metadata" else "%s" for c in _ENTRY_COLUMNS)
    sql = (
        f"WITH entry AS (INSERT INTO {JournalEntry._meta.db_table} ({', '.join(_ENTRY_COLUMNS)}) "
        f"VALUES ({entry_placeholders})), "
        f"postings AS (INSERT INTO {Posting._meta.db_table} ({', '.join(_POSTING_COLUMNS)}) "
        f"VALUES {', '.join(posting_values)}) "
        f"UPDATE {LedgerAccount._meta.db_table} AS a SET balance = COALESCE(v.balance, a.balance), "
        "pending_debits = a.pending_debits - v.release, version = a.version + 1 "
        f"FROM (VALUES {', '.join(account_values)}) AS v(id, balance, release) WHERE a.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(account_values):
            raise RuntimeError("ledger write touched an unexpected number of accounts")


def _write_orm(entry, rows, balances, release) -> None:
    entry.save(force_insert=True)
    Posting.objects.bulk_create(rows)
    # The explicit bigint type matters: with server-side binding an untyped Value is an integer.
    changes = {"version": F("version") + 1}
    if balances:
        changes["balance"] = Case(*[When(pk=pk, then=Value(v, output_field=BIG)) for pk, v in balances.items()],
                                  default=F("balance"), output_field=BIG)
    if release:
        changes["pending_debits"] = Case(*[When(pk=pk, then=F("pending_debits") - Value(v, output_field=BIG))
                                           for pk, v in release.items()], default=F("pending_debits"),
                                         output_field=BIG)
    LedgerAccount.objects.filter(pk__in=list(balances.keys() | release.keys())).update(**changes)
