"""The ledger's bulk path, for `seed_demo --scale large` only: the same invariants as `post_entry`
(balanced per currency, non-zero integer postings, no overdraft on accounts that may not go negative,
`balance_after` the running balance), kept in memory for the accounts it touches and written with
COPY; `finish()` sets each account's balance to its last posting's `balance_after` and adds its
number of changes to `version`. Nothing else may write to these accounts meanwhile: the seed runs
alone (`verify_ledger` checks the result).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection, transaction

from core.bulkseed import copy_rows, fast_id
from core.context import Actor

from .errors import InsufficientFunds, UnbalancedEntry
from .ledger import AccountKey, account_open
from .models import NEGATIVE_ALLOWED_TYPES, JournalEntry, LedgerAccount, Posting

_ENTRY_NAMES = [
    "id",
    "kind",
    "description",
    "actor_type",
    "actor_id",
    "actor_label",
    "idempotency_key",
    "metadata",
    "reverses_id",
    "created",
]
_POSTING_NAMES = ["entry_id", "account_id", "amount", "currency", "balance_after", "kind", "created"]


class BulkLedger:
    BATCH = 20_000

    def __init__(self, *, actor: Actor) -> None:
        self.actor = actor
        self.balance: dict[int, int] = {}
        self.currency: dict[int, str] = {}
        self.negative_ok: dict[int, bool] = {}
        self.pending: dict[int, int] = {}
        self.changes: dict[int, int] = defaultdict(int)
        self.last_at: dict[int, dt.datetime] = {}
        self.keys: dict[AccountKey, int] = {}
        self.entries: list[tuple[Any, ...]] = []
        self.postings: list[tuple[Any, ...]] = []
        self.entry_count = self.posting_count = 0

    def account(self, key: AccountKey) -> int:
        """A system account (owner, type, currency), opened if missing, with its current figures."""
        if key not in self.keys:
            with transaction.atomic():
                account = account_open(owner=key[0], account_type=key[1], currency=key[2])
            self.track(account)
            self.keys[key] = account.pk
        return self.keys[key]

    def track(self, account: LedgerAccount) -> None:
        self.balance[account.pk] = account.balance
        self.currency[account.pk] = account.currency
        self.negative_ok[account.pk] = account.allow_negative or account.account_type in NEGATIVE_ALLOWED_TYPES
        self.pending[account.pk] = account.pending_debits

    def track_new(self, pk: int, currency: str) -> None:
        """An account just written with COPY (a customer wallet's: empty, never negative)."""
        self.balance[pk], self.currency[pk], self.negative_ok[pk], self.pending[pk] = 0, currency, False, 0

    def post(
        self,
        *,
        kind: str,
        description: str,
        postings: list[tuple[int, int]],
        at: dt.datetime,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str = "",
        entry_id: str = "",
    ) -> str:
        """One balanced entry at `at`; returns its id (`entry_id` when the caller chose it ahead, to
        point at it from rows already written). Refuses what `post_entry` refuses."""
        per_currency: dict[str, int] = defaultdict(int)
        for account_id, amount in postings:
            if not isinstance(amount, int) or amount == 0:
                raise UnbalancedEntry("Each posting is a non-zero integer number of minor units.")
            per_currency[self.currency[account_id]] += amount
        if any(per_currency.values()):
            raise UnbalancedEntry(details={"imbalance": dict(per_currency)})
        for account_id, amount in postings:
            after = self.balance[account_id] + amount
            if amount < 0 and not self.negative_ok[account_id] and after - self.pending[account_id] < 0:
                raise InsufficientFunds(details={"account": account_id})
        entry_id = entry_id or fast_id("txn")
        actor = self.actor
        self.entries.append(
            (
                entry_id,
                kind,
                description[:500],
                actor.kind,
                actor.id[:64],
                actor.label[:200],
                idempotency_key,
                metadata or {},
                None,
                at,
            )
        )
        for account_id, amount in postings:
            self.balance[account_id] += amount
            self.changes[account_id] += 1
            self.last_at[account_id] = at
            self.postings.append(
                (entry_id, account_id, amount, self.currency[account_id], self.balance[account_id], kind, at)
            )
        if len(self.entries) >= self.BATCH:
            self.flush()
        return entry_id

    def flush(self) -> None:
        if self.entries:
            self.entry_count += copy_rows(JournalEntry, _ENTRY_NAMES, self.entries)
            self.posting_count += copy_rows(Posting, _POSTING_NAMES, self.postings)
            self.entries, self.postings = [], []

    def finish(self) -> int:
        """Writes what is buffered and the accounts' new balances, versions and `updated`; returns how
        many accounts changed."""
        self.flush()
        changed = sorted(self.changes)
        if not changed:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bulk_ledger_accounts (id bigint, balance bigint, changes bigint, "
                "updated timestamptz)"
            )
            with cursor.cursor.copy("COPY bulk_ledger_accounts FROM STDIN") as copy:
                for pk in changed:
                    copy.write_row((pk, self.balance[pk], self.changes[pk], self.last_at[pk]))
            cursor.execute(
                f"UPDATE {LedgerAccount._meta.db_table} AS a SET balance = v.balance, "
                "version = a.version + v.changes, updated = GREATEST(COALESCE(a.updated, v.updated), "
                "v.updated) FROM bulk_ledger_accounts v WHERE a.id = v.id"
            )
            cursor.execute("DROP TABLE bulk_ledger_accounts")
        self.changes.clear()
        return len(changed)
