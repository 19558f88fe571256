"""The posting engine: every movement of money in the product goes through `post_entry`.

Posting, reserving and capturing are inner services: they require the caller's transaction (the
use case owns the retry of deadlocks and serialization failures) and never commit on their own.
The staff and task actions (void a hold, expire due holds, reverse an entry) are use cases. Accounts
are locked with `select_for_update()` in id order, so two entries touching the same pair of
accounts in opposite directions queue instead of deadlocking; overdraft is checked under
that lock against the available balance (posted - pending debits).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from core import clock, rawrows
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, use_case
from core.errors import NotFound, ValidationFailed, money_details
from core.ids import get_by_public_id
from core.localcache import LocalCache
from core.models import stamp
from core.money import CurrencyMismatch, format_amount, require_positive
from core.rawrows import ModelColumns, kept

from .audit import WalletsAction
from .errors import (
    EntryAlreadyReversed,
    HoldAmountExceeded,
    HoldNotPending,
    InsufficientFunds,
    UnbalancedEntry,
)
from .ledger_write import update_accounts, write_entries, write_entry_guarded
from .models import NEGATIVE_ALLOWED_TYPES, AccountType, Hold, JournalEntry, LedgerAccount, Posting, Wallet

__all__ = [
    "AccountType", "EntryDraft", "system_account", "account_open", "lock_system_accounts", "post_entry",
    "post_entry_guarded",
    "post_entries", "hold_reserve", "hold_capture", "hold_void", "hold_expire_due", "entry_reverse",
    "account_balance", "account_available",
]

REVERSAL_KIND = "reversal"


# (owner, account_type, currency) -> the account's id, for this process: an account is never deleted
# nor renamed, so its id is resolved once. A kept id is checked against the row it locks (an id kept
# from a transaction that rolled back may be gone, or reused by SQLite for another account).
AccountKey = tuple[str, str, str]
_account_ids: LocalCache[int] = LocalCache("wallets.ledger_account_ids", seconds=None)


def account_open(*, owner: str, account_type: str, currency: str) -> LedgerAccount:
    """Get or create the one account of (owner, type, currency); safe against a concurrent creator."""
    require_transaction()
    account = LedgerAccount.objects.filter(owner=owner, account_type=account_type, currency=currency).first()
    if account is not None:
        return account
    try:
        # A savepoint, so losing the race to a concurrent creator does not poison the caller's transaction.
        with transaction.atomic():
            account = LedgerAccount(owner=owner, account_type=account_type, currency=currency,
                                    allow_negative=account_type in NEGATIVE_ALLOWED_TYPES, created=clock.now())
            account.save(force_insert=True)
            return account
    except IntegrityError:
        return LedgerAccount.objects.get(owner=owner, account_type=account_type, currency=currency)


def system_account(*, account_type: str, currency: str, owner: str = "platform") -> LedgerAccount:
    if account_type not in AccountType.values:
        raise ValueError(f"unknown account type {account_type!r}")
    account = account_open(owner=owner, account_type=account_type, currency=currency)
    _account_ids.put((owner, account_type, currency), account.pk)
    return account


def system_account_ref(*, account_type: str, currency: str, owner: str = "platform") -> LedgerAccount:
    """The account `system_account` names, for a write whose statement locks it and checks it is there
    (`post_entry_guarded`): where this process knows its id, an unsaved copy with its id, owner, type and currency
    and no figures, without a read. PostgreSQL never hands an id out twice, so a kept id is that account or, kept
    from a creation another transaction has not committed yet or rolled back, no row this one sees: then the guard
    refuses and the locked retry opens it (`system_account`, which keeps the id it finds). The statement checks the
    owner and type too, for any other case."""
    known, pk = _account_ids.peek((owner, account_type, currency))
    if not known or pk is None:
        return system_account(account_type=account_type, currency=currency, owner=owner)
    return LedgerAccount(pk=pk, owner=owner, account_type=account_type, currency=currency,
                         allow_negative=account_type in NEGATIVE_ALLOWED_TYPES)


def lock_accounts(ids) -> dict[int, LedgerAccount]:
    """The accounts locked in id order (the posting engine's own lock). Called directly by a caller that must
    take, at once and after its wallets, the accounts of several postings it then makes in turn."""
    # ORDER BY under FOR UPDATE makes PostgreSQL take the row locks in id order.
    return {a.pk: a for a in LedgerAccount.objects.select_for_update().filter(pk__in=sorted(ids)).order_by("pk")}




class LockedAccounts(NamedTuple):
    accounts: dict[AccountKey, LedgerAccount]
    # The entries already holding the idempotency keys asked for (`existing=` of post_entries).
    entries: dict[str, JournalEntry]

    def by_id(self) -> dict[int, LedgerAccount]:
        """The rows by id: `post_entry(locked=...)` / `post_entries(locked=...)`."""
        return {account.pk: account for account in self.accounts.values()}


def lock_system_accounts(keys: list[AccountKey], *, entry_keys: set[str] | frozenset[str] = frozenset()
                         ) -> LockedAccounts:
    """The accounts named by (owner, account_type, currency), created if missing, locked and read in
    ONE statement (`SELECT ... FOR UPDATE` in id order, as `lock_accounts`) once their ids are known
    to this process: what a posting needs (balances for `balance_after`, pending debits and
    `allow_negative` for the overdraft check) without a read per account first. On PostgreSQL the
    same statement looks up the journal entries already holding `entry_keys` (the posting's
    idempotency check, otherwise a statement of its own). Take every account a transaction needs in
    one call: two calls would lock in id order within each, not across them."""
    require_transaction()
    keys = list(dict.fromkeys(keys))
    for _, account_type, _ in keys:
        if account_type not in AccountType.values:
            raise ValueError(f"unknown account type {account_type!r}")
    ids = {}
    for key in keys:
        known, pk = _account_ids.peek(key)
        if known and pk is not None:
            ids[key] = pk
    if len(ids) == len(keys):
        locked, entries = _lock_accounts_finding(ids.values(), entry_keys)
        rows = {key: locked.get(ids[key]) for key in keys}
        if all(row is not None and (row.owner, row.account_type, row.currency) == key for key, row in rows.items()):
            return LockedAccounts(rows, entries)  # type: ignore[arg-type]  # every row checked not None above
        for key in keys:
            _account_ids.discard(key)
    opened = {key: account_open(owner=key[0], account_type=key[1], currency=key[2]) for key in keys}
    locked, entries = _lock_accounts_finding([a.pk for a in opened.values()], entry_keys)
    for key, account in opened.items():
        _account_ids.put(key, account.pk)
    return LockedAccounts({key: locked[account.pk] for key, account in opened.items()}, entries)


_LOCKED = ModelColumns(LedgerAccount, "a")


def lock_query_finding(ids, entry_keys) -> tuple[str, list[Any]]:
    """The PostgreSQL statement of `_lock_accounts_finding` and its parameters (a test checks its plan):
    each locked row carries the ids of the entries already holding the keys, comma-separated (ids have
    no comma). Written here, once per account count: Django's compiling of the same queryset (with its
    RawSQL annotation) cost more CPU than PostgreSQL spent running it."""
    ids = sorted(ids)
    sql = kept(("ledger.lock_finding", len(ids)), lambda: _lock_finding_statement(len(ids)), rows=len(ids))
    return sql, [sorted(entry_keys), *ids]


def _lock_finding_statement(count: int) -> str:
    quote = connection.ops.quote_name
    # The explicit `<> ''` is the unique index's condition, as in `entries_with_keys`.
    return (f"SELECT {_LOCKED.select(connection)}, ARRAY_TO_STRING(ARRAY(SELECT e.id FROM "
            f"{quote(JournalEntry._meta.db_table)} e WHERE e.idempotency_key = ANY(%s)"
            " AND e.idempotency_key <> ''), ',')"
            f" FROM {quote(LedgerAccount._meta.db_table)} a WHERE a.id IN ({', '.join(['%s'] * count)})"
            " ORDER BY a.id ASC FOR UPDATE")


def _lock_accounts_finding(ids, entry_keys) -> tuple[dict[int, LedgerAccount], dict[str, JournalEntry]]:
    """`lock_accounts(ids)` and `entries_with_keys(entry_keys)`, in one statement on PostgreSQL: the
    lookup is an uncorrelated subquery of the lock's select list (evaluated once, with the statement's
    snapshot, as the separate lookup was before the lock). The entries themselves are read only when
    some key is already used (a replay)."""
    if not entry_keys or not ids or connection.vendor != "postgresql":
        found = {e.idempotency_key: e for e in entries_with_keys(entry_keys)} if entry_keys else {}
        return lock_accounts(ids), found
    with rawrows.cursor() as cursor:
        cursor.execute(*lock_query_finding(ids, entry_keys))
        rows = cursor.fetchall()
    locked = {}
    db = rawrows.wrapper()  # the connection itself: the loader reads it for every converted value
    for row in rows:
        account = _LOCKED.load(row, 0, db)
        locked[account.pk] = account
    used = rows[0][len(_LOCKED)] if rows else ""
    entry_ids = used.split(",") if used else []
    found = {e.idempotency_key: e for e in JournalEntry.objects.filter(pk__in=entry_ids)} if entry_ids else {}
    return locked, found


@dataclass(frozen=True)
class EntryDraft:
    """One balanced entry to write: what `post_entry` takes, for `post_entries`."""

    kind: str
    description: str
    postings: list[tuple[LedgerAccount, int]]
    metadata: dict | None = None
    idempotency_key: str = ""
    reverses: JournalEntry | None = None


def _net(draft: EntryDraft) -> dict[int, int]:
    """Validates the draft's postings; returns the net amount per account."""
    if not draft.postings:
        raise UnbalancedEntry("An entry needs postings.")
    per_currency: dict[str, int] = defaultdict(int)
    net: dict[int, int] = defaultdict(int)
    for account, amount in draft.postings:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise UnbalancedEntry("Each posting is a non-zero integer number of minor units.",
                                  details={"amount": repr(amount), "currency": account.currency})
        per_currency[account.currency] += amount
        net[account.pk] += amount
    unbalanced = {cur: format_amount(total, cur) for cur, total in per_currency.items() if total}
    if unbalanced:
        raise UnbalancedEntry(details={"imbalance": unbalanced})
    return net


def _insufficient(account: LedgerAccount, available: int, amount: int) -> InsufficientFunds:
    """The refusal names the wallet whose account it is (its public id), never the account's row;
    an account of the platform's own is not named."""
    wallet_id = Wallet.objects.filter(account_id=account.pk).values_list("pk", flat=True).first()
    named = {"wallet_id": wallet_id} if wallet_id else {}
    return InsufficientFunds(details={**named, **money_details(account.currency, available=available, amount=amount)})


def entries_with_keys(keys):
    # The explicit `<> ''` is the unique index's own condition: PostgreSQL proves it from an IN list
    # of at most 100 values only, and without the index a batch's lookup scans every entry.
    return JournalEntry.objects.filter(idempotency_key__in=keys).exclude(idempotency_key="").order_by()


def _post_many(drafts: list[EntryDraft], *, actor: Actor, release: dict[int, int] | None = None,
               prelocked: dict[int, LedgerAccount] | None = None,
               existing: dict[str, JournalEntry] | None = None) -> list[JournalEntry]:
    """Writes the drafts in order, as that many `post_entry` calls would (each checked against the
    balances the previous ones left), with one idempotency query and one write for all of them.
    A draft whose key is already used, in the database or earlier in the list, returns that entry.
    Nothing is written unless every new draft is valid. `existing`: the caller already looked the
    drafts' keys up in this transaction (`lock_system_accounts(entry_keys=...)`): no query here."""
    keys = {d.idempotency_key for d in drafts if d.idempotency_key}
    # (A key the caller's lookup missed would still never post twice: the unique index refuses it.)
    found: dict[str, JournalEntry | None]
    if existing is not None:
        found = {k: existing[k] for k in keys if k in existing}
    else:
        found = {e.idempotency_key: e for e in entries_with_keys(keys)} if keys else {}
    # Per draft: the entry its key already names, the key of an earlier draft in this list, or None (new).
    plan: list[JournalEntry | str | None] = []
    new: list[tuple[EntryDraft, dict[int, int]]] = []
    for draft in drafts:
        key = draft.idempotency_key
        if key in found:
            plan.append(found[key] or key)
            continue
        if key:
            found[key] = None
        plan.append(None)
        new.append((draft, _net(draft)))
    release = release or {}
    wanted = {pk for _, net in new for pk in net} | release.keys()
    if prelocked is not None and wanted <= prelocked.keys():
        locked = {pk: prelocked[pk] for pk in sorted(wanted)}
    else:
        locked = lock_accounts(wanted)
    if len(locked) != len(wanted):
        raise NotFound("A ledger account of this entry does not exist.")
    running = {pk: a.balance for pk, a in locked.items()}
    pending = {pk: a.pending_debits - release.get(pk, 0) for pk, a in locked.items()}
    now = clock.now()
    entries, rows, by_key = [], [], {}
    for draft, net in new:
        for account_id, amount in net.items():
            account = locked[account_id]
            if amount < 0 and not account.allow_negative and running[account_id] + amount - pending[account_id] < 0:
                raise _insufficient(account, running[account_id] - pending[account_id], -amount)
        entry = JournalEntry(kind=draft.kind, description=draft.description[:500],
                             idempotency_key=draft.idempotency_key, metadata=draft.metadata or {},
                             reverses=draft.reverses)
        stamp(entry, actor=actor, now=now)
        entry.posting_rows = []
        for account, amount in draft.postings:
            running[account.pk] += amount
            entry.posting_rows.append(Posting(entry=entry, account_id=account.pk, amount=amount,
                                              currency=account.currency, balance_after=running[account.pk],
                                              kind=draft.kind, created=now))
        rows += entry.posting_rows
        entries.append(entry)
        by_key[draft.idempotency_key] = entry
    if entries:
        write_entries(entries, rows, {pk: running[pk] for _, net in new for pk in net}, release)
    # Callers holding these objects see the new figures without a re-read.
    for draft, _ in new:
        for account, _ in draft.postings:
            account.balance, account.updated = running[account.pk], now
    built = iter(entries)
    return [by_key[p] if isinstance(p, str) else p if p is not None else next(built) for p in plan]


def post_entry(*, kind: str, description: str, actor: Actor, postings: list[tuple[LedgerAccount, int]],
               metadata: dict | None = None, reverses: JournalEntry | None = None, idempotency_key: str = "",
               locked: dict[int, LedgerAccount] | None = None,
               existing: dict[str, JournalEntry] | None = None) -> JournalEntry:
    """Writes one balanced entry. A non-empty `idempotency_key` already used returns that entry.

    `locked`: for a caller that has just locked every account of the entry (`select_for_update`, in
    account id order, in this transaction) and passes those fresh rows, saving a second lock query;
    `existing`: as in `post_entries`."""
    require_transaction()
    draft = EntryDraft(kind=kind, description=description, postings=postings, metadata=metadata,
                       idempotency_key=idempotency_key, reverses=reverses)
    return _post_many([draft], actor=actor, prelocked=locked, existing=existing)[0]


def post_entry_guarded(*, kind: str, description: str, actor: Actor, wallets: list[Wallet],
                       postings: list[tuple[LedgerAccount, int]], metadata: dict | None = None) -> JournalEntry:
    """`post_entry` for wallets read without their locks (`wallet_read_with_accounts`) by a caller that judged the
    write allowed from what it read: `postings` (one per account) on those wallets' accounts and, for a withdrawal or
    a conversion, platform accounts. The locks are taken by the statement that writes (the block's last one,
    core.heldrows), which writes only if each wallet is still active, each account still in its posting's currency,
    and each debited wallet still has no daily limit and covers its debit: the hot rows stay locked for that
    statement and the commit only. Where they no longer allow it, `rawrows.GuardFailed` and the transaction's owner
    runs it again (`core.db.guarded_writes_allowed`), this time locking first. The locks' order is the locked paths'
    (the wallets by id, then every account by id: `wallet_lock_with_accounts`). The postings' `balance_after` is
    written from the balances as locked; the objects here carry None in it."""
    require_transaction()
    draft = EntryDraft(kind=kind, description=description, metadata=metadata, postings=postings)
    wallet_accounts = {wallet.account_id for wallet in wallets}
    if (len(_net(draft)) != len(postings) or not wallet_accounts <= {account.pk for account, _ in postings}
            or len(wallet_accounts) != len(wallets)):
        raise ValueError("a guarded entry has one posting per account, one on each wallet's account")
    now = clock.now()
    entry = JournalEntry(kind=kind, description=description[:500], metadata=metadata or {})
    stamp(entry, actor=actor, now=now)
    entry.posting_rows = [Posting(entry=entry, account_id=account.pk, amount=amount, currency=account.currency,
                                  kind=kind, created=now)
                          for account, amount in postings]
    write_entry_guarded(entry, entry.posting_rows, wallet_ids=[wallet.pk for wallet in wallets],
                        accounts=[account for account, _ in postings])
    return entry


def post_entries(*, drafts: list[EntryDraft], actor: Actor, locked: dict[int, LedgerAccount] | None = None,
                 existing: dict[str, JournalEntry] | None = None) -> list[JournalEntry]:
    """`post_entry` for many entries in one go (the billing run's captures): the entry per draft, in
    order, exactly as one call per draft would write it, with one lock query (none for accounts the
    caller passes in `locked`), one idempotency query (none when the caller passes `existing`: the
    entries `lock_system_accounts(entry_keys=...)` found for every draft's key, in this transaction)
    and one write statement for the lot."""
    require_transaction()
    return _post_many(drafts, actor=actor, prelocked=locked, existing=existing)


def account_balance(account: LedgerAccount) -> int:
    return LedgerAccount.objects.values_list("balance", flat=True).get(pk=account.pk)


def account_available(account: LedgerAccount) -> int:
    balance, pending = LedgerAccount.objects.values_list("balance", "pending_debits").get(pk=account.pk)
    return balance - pending


# --- Holds (two-phase) -------------------------------------------------------------------


def hold_reserve(*, account: LedgerAccount, amount: int, actor: Actor, description: str = "",
                 expires_at=None, metadata: dict | None = None) -> Hold:
    require_transaction()
    require_positive(amount)
    locked = lock_accounts([account.pk])[account.pk]
    if not locked.allow_negative and locked.balance - locked.pending_debits < amount:
        raise _insufficient(locked, locked.balance - locked.pending_debits, amount)
    now = clock.now()
    LedgerAccount.objects.filter(pk=locked.pk).update(pending_debits=F("pending_debits") + amount,
                                                      version=F("version") + 1, updated=now)
    hold = Hold(account=locked, amount=amount, currency=locked.currency, description=description[:500],
                metadata=metadata or {}, expires_at=expires_at, actor_label=actor.label[:200])
    stamp(hold, now=now)
    hold.save(force_insert=True)
    account.pending_debits, account.updated = locked.pending_debits + amount, now
    return hold


def _lock_pending_hold(hold_id: str) -> Hold:
    hold = get_by_public_id(Hold.objects.select_for_update(), hold_id, field="hold_id", message="No such hold.")
    if hold.status != Hold.Status.PENDING:
        raise HoldNotPending(f"The hold is {hold.status}.", details={"status": hold.status})
    if hold.expires_at is not None and hold.expires_at <= clock.now():
        raise HoldNotPending("The hold has expired.", details={"status": Hold.Status.EXPIRED})
    return hold


def hold_capture(*, hold_id: str, amount: int | None, destination: LedgerAccount, actor: Actor, kind: str,
                 description: str = "", metadata: dict | None = None) -> JournalEntry:
    """Moves `amount` (default: all) of the hold to `destination`; the rest of the hold is released."""
    require_transaction()
    hold = _lock_pending_hold(hold_id)
    amount = hold.amount if amount is None else require_positive(amount)
    if amount > hold.amount:
        raise HoldAmountExceeded(details={"hold_id": hold.pk, **money_details(hold.currency, hold_amount=hold.amount,
                                                                               amount=amount)})
    if destination.currency != hold.currency:
        raise CurrencyMismatch(details={"hold_currency": hold.currency, "destination_currency": destination.currency})
    source = LedgerAccount(pk=hold.account_id, currency=hold.currency)
    draft = EntryDraft(kind=kind, description=description or f"Capture of {hold.pk}",
                       postings=[(source, -amount), (destination, amount)],
                       metadata={"hold_id": hold.pk, **(metadata or {})})
    # The whole hold's reservation is released in the same write, whatever part of it is captured.
    [entry] = _post_many([draft], actor=actor, release={hold.account_id: hold.amount})
    Hold.objects.filter(pk=hold.pk).update(status=Hold.Status.CAPTURED, captured_amount=amount,
                                           capture_entry=entry, updated=clock.now())
    return entry


def _release(holds: list[Hold], status: str) -> None:
    """Ends pending holds (already locked): their amounts leave their accounts' pending debits, with the
    accounts locked in id order and updated in one statement, and the holds in one more."""
    amounts: dict[int, int] = defaultdict(int)
    for hold in holds:
        amounts[hold.account_id] += hold.amount
    lock_accounts(amounts)
    update_accounts({}, amounts)
    now = clock.now()
    Hold.objects.filter(pk__in=[h.pk for h in holds]).update(status=status, updated=now)
    for hold in holds:
        hold.status, hold.updated = status, now


@use_case
def hold_void(*, hold_id: str, actor: Actor) -> Hold:
    hold = _lock_pending_hold(hold_id)
    _release([hold], Hold.Status.VOIDED)
    audit_record(action=WalletsAction.HOLD_VOIDED, actor=actor, obj=hold)
    return hold


@use_case
def hold_expire_due(*, actor: Actor, limit: int = 500) -> int:
    """Releases pending holds whose `expires_at` has passed (up to `limit`, skipping holds another
    transaction has locked); returns how many."""
    holds = list(Hold.objects.select_for_update(skip_locked=True)
                 .filter(status=Hold.Status.PENDING, expires_at__lte=clock.now()).order_by("pk")[:limit])
    if holds:
        _release(holds, Hold.Status.EXPIRED)
        audit_record(action=WalletsAction.HOLD_EXPIRED, actor=actor, object_type="wallets.hold",
                     details={"count": len(holds)})
    return len(holds)


# --- Reversal ----------------------------------------------------------------------------


@use_case
def entry_reverse(*, entry_id: str, actor: Actor, reason: str) -> JournalEntry:
    """A new entry with every posting negated and `reverses` set; the original stays as it was."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["A reason is required."]})
    # Locking the original serialises two concurrent reversals of it.
    original = get_by_public_id(JournalEntry.objects.select_for_update(), entry_id, field="entry_id",
                                message="No such journal entry.")
    if JournalEntry.objects.filter(reverses_id=original.pk).exists():
        raise EntryAlreadyReversed(details={"entry_id": original.pk})
    lines = list(original.postings.select_related("account").order_by("id"))
    entry = post_entry(kind=REVERSAL_KIND, description=f"Reversal of {original.pk}: {reason}", actor=actor,
                       postings=[(p.account, -p.amount) for p in lines],
                       metadata={"reason": reason, "reversed_kind": original.kind}, reverses=original)
    audit_record(action=WalletsAction.JOURNAL_ENTRY_REVERSED, actor=actor, obj=original,
                 details={"reversal_id": entry.pk, "reason": reason})
    return entry
