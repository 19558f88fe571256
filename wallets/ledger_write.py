"""The write step of the posting engine: entry, postings and new balances, already validated.

On PostgreSQL it is one statement, for one entry or a batch of them (entries and postings inserted in CTEs, the
balances updated from a VALUES list): one round trip instead of three on the hottest path of the product, measured
in `bench/ledger.py`. Inside a block that holds rows (core.heldrows: an idempotent write's transaction, a capture)
that statement leads the block's last one, with the audit event, event and idempotency record: the accounts stay
locked one round trip less. Elsewhere (SQLite quick start) the ORM writes the same rows. Both paths are exercised by
the ledger tests; `verify_ledger` checks the result.

`write_entry_guarded` is the same write for an entry built from wallets read without their locks: its statement
takes them and checks what the entry was built from before it changes anything (ledger.post_entry_guarded).
"""

from __future__ import annotations

import json

from django.db import connection
from django.db.models import BigIntegerField, Case, F, Value, When

from core import clock, heldrows, rawrows

from .models import JournalEntry, LedgerAccount, Posting, Wallet

BIG = BigIntegerField()

_ENTRY_COLUMNS = ("id", "kind", "description", "actor_type", "actor_id", "actor_label", "idempotency_key",
                  "metadata", "reverses_id", "created")
_POSTING_COLUMNS = ("entry_id", "account_id", "amount", "currency", "balance_after", "kind", "created")


# Rows per INSERT, so a large batch stays well inside PostgreSQL's 65,535 bind parameters.
ENTRIES_PER_STATEMENT = 500


def write_entries(entries: list[JournalEntry], rows: list[Posting], balances: dict[int, int],
                  release: dict[int, int]) -> None:
    """`balances`: new posted balance per account after all the entries (absolute: the rows are
    locked); `release`: pending debits to subtract. Every account in either map gets version + 1
    and `updated` = the entries' time."""
    changed_at = entries[0].created if entries else clock.now()
    if connection.vendor == "postgresql":
        _write_pg(entries, rows, balances, release, changed_at)
    else:
        _write_orm(entries, rows, balances, release, changed_at)
    for entry in entries:
        entry._state.adding = False
        entry._state.db = "default"


def _values(objects, columns, casts=None) -> tuple[str, list]:
    casts = casts or {}
    row = "(" + ", ".join(f"%s::{casts[c]}" if c in casts else "%s" for c in columns) + ")"
    params: list[object] = []
    for obj in objects:
        params.extend(json.dumps(getattr(obj, c)) if casts.get(c) == "jsonb" else getattr(obj, c) for c in columns)
    return ", ".join([row] * len(objects)), params


def _entries_insert(entries: list[JournalEntry]) -> tuple[str, list]:
    sql, params = _values(entries, _ENTRY_COLUMNS, {"metadata": "jsonb"})
    return f"INSERT INTO {JournalEntry._meta.db_table} ({', '.join(_ENTRY_COLUMNS)}) VALUES {sql}", params


def _write_pg(entries, rows, balances, release, changed_at) -> None:
    by_entry: dict[int, list[Posting]] = {}
    for row in rows:
        by_entry.setdefault(id(row.entry), []).append(row)
    for start in range(0, len(entries), ENTRIES_PER_STATEMENT):
        group = entries[start:start + ENTRIES_PER_STATEMENT]
        last = start + ENTRIES_PER_STATEMENT >= len(entries)
        posting_sql, posting_params = _values([r for e in group for r in by_entry[id(e)]], _POSTING_COLUMNS)
        parts = [_entries_insert(group),
                 (f"INSERT INTO {Posting._meta.db_table} ({', '.join(_POSTING_COLUMNS)}) VALUES {posting_sql}",
                  posting_params)]
        accounts = sorted(balances.keys() | release.keys()) if last else []
        if not accounts:
            rawrows.run(rawrows.Changes(tuple(parts)))
            continue
        # The entries, their postings and the new balances in one statement: one round trip; held to lead the
        # block's last statement where it can (core.heldrows), so the locks are held one round trip less.
        params: list[object] = [changed_at]
        for pk in accounts:
            params.extend([pk, balances.get(pk), release.get(pk, 0)])
        account_values = ", ".join(["(%s::bigint, %s::bigint, %s::bigint)"] * len(accounts))
        parts.append((f"UPDATE {LedgerAccount._meta.db_table} AS a SET balance = COALESCE(v.balance, a.balance), "
                      "pending_debits = a.pending_debits - v.release, version = a.version + 1, "
                      "updated = %s::timestamptz "
                      f"FROM (VALUES {account_values}) AS v(id, balance, release) WHERE a.id = v.id RETURNING 1",
                      params))
        tables = frozenset({JournalEntry._meta.db_table, Posting._meta.db_table, LedgerAccount._meta.db_table})
        heldrows.execute_later(rawrows.Changes(tuple(parts), rows=len(accounts), tables=tables))


def _write_orm(entries, rows, balances, release, changed_at) -> None:
    JournalEntry.objects.bulk_create(entries)
    Posting.objects.bulk_create(rows)
    update_accounts(balances, release, changed_at=changed_at)


def update_accounts(balances: dict[int, int], release: dict[int, int], *, changed_at=None) -> None:
    """The accounts part of `write_entries` alone (one UPDATE), also for releasing holds without an entry."""
    # The explicit bigint type matters: with server-side binding an untyped Value is an integer.
    changes = {"version": F("version") + 1, "updated": changed_at or clock.now()}
    if balances:
        changes["balance"] = Case(*[When(pk=pk, then=Value(v, output_field=BIG)) for pk, v in balances.items()],
                                  default=F("balance"), output_field=BIG)
    if release:
        changes["pending_debits"] = Case(*[When(pk=pk, then=F("pending_debits") - Value(v, output_field=BIG))
                                           for pk, v in release.items()], default=F("pending_debits"),
                                         output_field=BIG)
    LedgerAccount.objects.filter(pk__in=list(balances.keys() | release.keys())).update(**changes)


def write_entry_guarded(entry: JournalEntry, rows: list[Posting], *, wallet_ids: list[str],
                        accounts: list[LedgerAccount]) -> None:
    """One entry, its postings (one per account: `rows`, whose accounts are `accounts`, in the same order) and the
    new balances, as changes held for the block's last statement (core.heldrows) that lock the wallets and the
    accounts themselves and write only if every wallet is still active, every account still the one its copy names
    (owner, type, currency: a platform account's id may come from this process's memory, `ledger.system_account_ref`),
    every debited wallet still has no daily limit and every debited account covers its debit from its available
    balance (the `allow_negative` accounts aside): otherwise `rawrows.GuardFailed`. The postings' `balance_after` is
    each account's balance as the statement wrote it. The locks are taken in the locked paths' order
    (`wallet_lock_with_accounts`): the wallets by id, then every account by id. PostgreSQL only."""
    count = len(rows)
    parts_sql = rawrows.kept(("ledger.guarded", len(wallet_ids), count),
                             lambda: _guarded_statements(len(wallet_ids), count), rows=count)
    wallet_lock_sql, account_lock_sql, gate_sql, update_sql, posting_sql = parts_sql
    named = [param for row, account in zip(rows, accounts, strict=True)
             for param in (row.account_id, row.amount, row.currency, account.owner, account.account_type)]
    parts = (
        (wallet_lock_sql, sorted(wallet_ids)),
        (account_lock_sql, [*sorted(row.account_id for row in rows), len(wallet_ids)]),
        (gate_sql, [count, len(wallet_ids), Wallet.Status.ACTIVE.value, *named]),
        (update_sql, [entry.created, *[param for row in rows for param in (row.account_id, row.amount)]]),
        _entries_insert([entry]),
        (posting_sql, [entry.pk, entry.kind, entry.created,
                       *[param for n, row in enumerate(rows) for param in (row.account_id, row.amount, row.currency,
                                                                             n)]]),
    )
    tables = frozenset({JournalEntry._meta.db_table, Posting._meta.db_table, LedgerAccount._meta.db_table})
    heldrows.execute_later(rawrows.Changes(parts, rows=count, tables=tables, checks=((3, count),),
                                           guarded=frozenset({3, 5})))
    entry._state.adding = False
    entry._state.db = "default"


def _guarded_statements(wallets: int, accounts: int) -> tuple[str, str, str, str, str]:
    quote = connection.ops.quote_name
    account_table, wallet_table = quote(LedgerAccount._meta.db_table), quote(Wallet._meta.db_table)
    ref = rawrows.Changes.ref
    # Locking rows read by a statement that began before their last change returns them as changed (READ
    # COMMITTED), so the gate judges the balances the update writes on. The accounts' lock waits for the wallets':
    # an uncorrelated condition is judged once, before its scan.
    wallet_lock = (f"SELECT w.account_id, w.status, w.daily_limit FROM {wallet_table} w"
                   f" WHERE w.id IN ({', '.join(['%s'] * wallets)}) ORDER BY w.id ASC FOR UPDATE")
    account_lock = ("SELECT a.id, a.owner, a.account_type, a.currency, a.balance, a.pending_debits, a.allow_negative"
                    f" FROM {account_table} a WHERE a.id IN ({', '.join(['%s'] * accounts)})"
                    f" AND (SELECT count(*) FROM {ref(0)}) = %s ORDER BY a.id ASC FOR UPDATE")
    named = ", ".join(["(%s::bigint, %s::bigint, %s::varchar, %s::varchar, %s::varchar)"] * accounts)
    gate = ("SELECT COALESCE(count(*) = %s AND count(w.account_id) = %s AND bool_and(a.currency = v.currency"
            " AND a.owner = v.owner AND a.account_type = v.account_type"
            " AND (w.account_id IS NULL OR w.status = %s) AND (v.delta > 0 OR"
            " ((w.account_id IS NULL OR w.daily_limit IS NULL) AND"
            " (a.allow_negative OR a.balance - a.pending_debits + v.delta >= 0)))), false) AS ok"
            f" FROM {ref(1)} a INNER JOIN (VALUES {named}) AS v(id, delta, currency, owner, account_type)"
            f" ON v.id = a.id LEFT JOIN {ref(0)} w ON w.account_id = a.id")
    pairs = ", ".join(["(%s::bigint, %s::bigint)"] * accounts)
    # The gate is a condition on no row of the update: evaluated once, before it touches any (so the locks above
    # are taken first, in their order).
    update = (f"UPDATE {account_table} AS a SET balance = a.balance + v.delta, version = a.version + 1,"
              f" updated = %s::timestamptz FROM (VALUES {pairs}) AS v(id, delta)"
              f" WHERE a.id = v.id AND (SELECT ok FROM {ref(2)}) RETURNING a.id, a.balance")
    rows = ", ".join(["(%s::bigint, %s::bigint, %s::varchar, %s::int)"] * accounts)
    posting = (f"INSERT INTO {quote(Posting._meta.db_table)} ({', '.join(_POSTING_COLUMNS)})"
               " SELECT %s, u.id, v.amount, v.currency, u.balance, %s, %s::timestamptz"
               f" FROM {ref(3)} u INNER JOIN (VALUES {rows}) AS v(id, amount, currency, n)"
               " ON v.id = u.id ORDER BY v.n RETURNING 1")
    return wallet_lock, account_lock, gate, update, posting
