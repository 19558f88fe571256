"""Wallet lifecycle and the hooks payments uses (top-up credit, can-pay check)."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from accounts.models import Customer
from accounts.selectors import customer_get
from core import rawrows
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, use_case
from core.errors import InvalidStateTransition, NotFound, ValidationFailed, money_details
from core.events import emit
from core.ids import has_prefix
from core.models import stamp, touch
from core.money import CurrencyMismatch, format_amount, normalize_currency, require_positive
from core.rawrows import ModelColumns, attach, kept

from .. import ledger
from ..audit import WalletsAction
from ..errors import InsufficientFunds, LimitExceeded, WalletExists, WalletFrozen, WalletNotEmpty
from ..events import WalletsEvent
from ..models import AccountType, JournalEntry, LedgerAccount, Wallet
from ..selectors import wallet_outgoing_today


@use_case
def wallet_create(*, actor: Actor, customer_id: str, currency: str, daily_limit: int | None = None) -> Wallet:
    customer = customer_get(customer_id=customer_id)
    currency = normalize_currency(currency)
    if Wallet.objects.filter(customer=customer, currency=currency).exists():
        raise WalletExists(details={"customer_id": customer.pk, "currency": currency})
    try:
        with transaction.atomic():
            account = ledger.account_open(owner=customer.pk, account_type=AccountType.CUSTOMER_WALLET,
                                          currency=currency)
            wallet = Wallet(customer=customer, currency=currency, account=account, daily_limit=daily_limit)
            stamp(wallet)
            wallet.save(force_insert=True)
    except IntegrityError:
        # A concurrent create of the same (customer, currency) won the unique constraint.
        raise WalletExists(details={"customer_id": customer.pk, "currency": currency})
    audit_record(action=WalletsAction.WALLET_CREATED, actor=actor, obj=wallet, details={"currency": currency})
    emit(WalletsEvent.WALLET_CREATED, wallet, actor=actor)
    return wallet


_WALLET = ModelColumns(Wallet, "w")
_ACCOUNT = ModelColumns(LedgerAccount, "a")
_CUSTOMER = ModelColumns(Customer, "c")


def _lock_statement(count: int, *, with_accounts: bool, lock: bool = True) -> str:
    """The lock of `count` wallets with their accounts and customers selected: written here, once per
    shape, because compiling the queryset that says the same cost three times what running it did
    (docs/PERFORMANCE.md). The locks' order is the one every movement takes: the wallets by id, then
    (`with_accounts`) their accounts by id. The customer comes with the lock, not locked itself: its KYC
    status gates movements out. `lock=False`: the same read without the locks."""
    return kept(("wallets.lock", connection.vendor, count, with_accounts, lock),
                lambda: _build_lock_statement(count, with_accounts=with_accounts, lock=lock), rows=count)


def _build_lock_statement(count: int, *, with_accounts: bool, lock: bool) -> str:
    quote = connection.ops.quote_name
    columns = f"{_WALLET.select(connection)}, {_ACCOUNT.select(connection)}, {_CUSTOMER.select(connection)}"
    wallets, accounts = quote(Wallet._meta.db_table), quote(LedgerAccount._meta.db_table)
    customers = quote(Customer._meta.db_table)
    ids = ", ".join(["%s"] * count)
    if not (lock and connection.features.has_select_for_update_of):  # SQLite locks the whole file instead
        return (f"SELECT {columns} FROM {wallets} w INNER JOIN {accounts} a ON a.id = w.account_id"
                f" INNER JOIN {customers} c ON c.id = w.customer_id WHERE w.id IN ({ids}) ORDER BY w.id ASC")
    if not with_accounts:
        return (f"SELECT {columns} FROM {wallets} w INNER JOIN {accounts} a ON a.id = w.account_id"
                f" INNER JOIN {customers} c ON c.id = w.customer_id WHERE w.id IN ({ids}) ORDER BY w.id ASC"
                " FOR UPDATE OF w")
    # The rows come from the locking clauses, which return each row as its last change left it (READ COMMITTED);
    # the accounts' lock waits for every wallet's: an uncorrelated condition is judged once, before its scan.
    return (f"WITH locked_w AS (SELECT * FROM {wallets} w WHERE w.id IN ({ids}) ORDER BY w.id ASC FOR UPDATE),"
            f" locked_a AS (SELECT * FROM {accounts} a WHERE a.id IN (SELECT account_id FROM locked_w)"
            " AND (SELECT count(*) FROM locked_w) >= 0 ORDER BY a.id ASC FOR UPDATE)"
            f" SELECT {columns} FROM locked_w w INNER JOIN locked_a a ON a.id = w.account_id"
            f" INNER JOIN {customers} c ON c.id = w.customer_id ORDER BY w.id ASC")


def _lock_wallets(wallet_ids: tuple[str, ...], *, with_accounts: bool, lock: bool = True) -> dict[str, Wallet]:
    require_transaction()
    for wallet_id in wallet_ids:
        if not has_prefix(wallet_id, "wal"):
            raise NotFound("No such wallet.", details={"wallet_id": wallet_id})
    unique = sorted(set(wallet_ids))
    if not unique:
        return {}
    with rawrows.cursor() as cursor:
        cursor.execute(_lock_statement(len(unique), with_accounts=with_accounts, lock=lock), unique)
        rows = cursor.fetchall()
    locked = {}
    db = rawrows.wrapper()  # the connection itself: the loaders read it for every converted value
    for row in rows:
        wallet = _WALLET.load(row, 0, db)
        attach(wallet, "account", _ACCOUNT.load(row, len(_WALLET), db))
        attach(wallet, "customer", _CUSTOMER.load(row, len(_WALLET) + len(_ACCOUNT), db))
        locked[wallet.pk] = wallet
    for wallet_id in wallet_ids:
        if wallet_id not in locked:
            raise NotFound("No such wallet.", details={"wallet_id": wallet_id})
    return locked


def wallet_lock(*wallet_ids: str) -> dict[str, Wallet]:
    """Locks the wallets in id order (the first lock every wallet service takes); unknown ids are 404."""
    return _lock_wallets(wallet_ids, with_accounts=False)


def wallet_lock_with_accounts(*wallet_ids: str) -> dict[str, Wallet]:
    """Locks the wallets (in id order) and then their ledger accounts (in id order) in one statement.

    The order every movement takes, so no two deadlock: wallets before any account (`wallet_lock` and
    then the posting engine's account locks, as a withdrawal, a top-up or a conversion does them), and
    accounts by id (as everything that locks accounts alone: captures, holds, reversals). Each wallet
    just before its own account, in account id order, is not that order: a transfer locked that way
    waited in a cycle of four: a withdrawal holding its wallet, a reversal holding the clearing account,
    two transfers holding a wallet's account (found by tests/wallets/test_guarded_movements.py)."""
    return _lock_wallets(wallet_ids, with_accounts=True)


def wallet_read_with_accounts(*wallet_ids: str) -> dict[str, Wallet]:
    """`wallet_lock_with_accounts` without the locks: the rows a guarded write is built from
    (`ledger.post_entry_guarded`), whose statement takes the locks and checks what it relied on."""
    return _lock_wallets(wallet_ids, with_accounts=True, lock=False)


def ensure_active(wallet: Wallet) -> None:
    if wallet.status != Wallet.Status.ACTIVE:
        raise WalletFrozen(f"The wallet is {wallet.status}.", details={"wallet_id": wallet.pk,
                                                                       "status": wallet.status})


def ensure_within_limit(wallet: Wallet, amount: int) -> None:
    if wallet.daily_limit is None:
        return
    used = wallet_outgoing_today(wallet=wallet)
    if used + amount > wallet.daily_limit:
        raise LimitExceeded(details={"wallet_id": wallet.pk, **money_details(
            wallet.currency, daily_limit=wallet.daily_limit, used_today=used, amount=amount)})


def wallet_ensure_can_pay(*, wallet: Wallet, amount: int) -> None:
    """For wallet payments: locks the wallet and checks status, daily limit and available balance.

    The caller then reserves with `ledger.hold_reserve` in the same transaction, so the checks
    still hold when the hold is written.
    """
    require_transaction()
    require_positive(amount)
    wallet = wallet_lock_with_accounts(wallet.pk)[wallet.pk]
    ensure_active(wallet)
    ensure_within_limit(wallet, amount)
    available = wallet.account.available
    if available < amount:
        raise InsufficientFunds(details={"wallet_id": wallet.pk,
                                         **money_details(wallet.currency, available=available, amount=amount)})


@use_case
def wallet_credit_topup(*, wallet_id: str, amount: int, source: LedgerAccount, actor: Actor, reference: str,
                        metadata: dict | None = None) -> JournalEntry:
    """The hook payments calls when a top-up payment succeeded: credits the wallet from `source`."""
    require_positive(amount)
    wallet = wallet_lock(wallet_id)[wallet_id]
    ensure_active(wallet)
    if source.currency != wallet.currency:
        raise CurrencyMismatch(details={"wallet_currency": wallet.currency, "source_currency": source.currency})
    entry = ledger.post_entry(kind="wallet_topup", description=f"Top-up {reference}".strip(), actor=actor,
                              postings=[(source, -amount), (wallet.account, amount)],
                              metadata={"wallet_id": wallet.pk, "reference": reference, **(metadata or {})})
    audit_record(action=WalletsAction.WALLET_TOPPED_UP, actor=actor, obj=wallet,
                 details={"entry_id": entry.pk, "amount": amount, "reference": reference})
    emit(WalletsEvent.TOP_UP_SUCCEEDED, entry, actor=actor)
    return entry


def _set_status(*, actor: Actor, wallet: Wallet, status: str, allowed_from: tuple[str, ...], action: str,
                audit: WalletsAction, event: WalletsEvent, reason: str) -> Wallet:
    """`wallet`: locked by the caller, in this transaction."""
    if wallet.status == status:
        return wallet  # Already there: repeating the action changes nothing.
    if wallet.status not in allowed_from:
        raise InvalidStateTransition(f"A {wallet.status} wallet cannot be {action}.",
                                     details={"wallet_id": wallet.pk, "status": wallet.status})
    previous = wallet.status
    wallet.status, wallet.status_reason = status, reason[:500]
    touch(wallet, "status", "status_reason")
    audit_record(action=audit, actor=actor, obj=wallet,
                 details={"from": previous, "to": status, "reason": reason})
    emit(event, wallet, previous={"status": previous}, actor=actor)
    return wallet


@use_case
def wallet_freeze(*, actor: Actor, wallet_id: str, reason: str = "") -> Wallet:
    return _set_status(actor=actor, wallet=wallet_lock(wallet_id)[wallet_id], status=Wallet.Status.FROZEN,
                       allowed_from=(Wallet.Status.ACTIVE,), action="frozen", audit=WalletsAction.WALLET_FROZEN,
                       event=WalletsEvent.WALLET_FROZEN, reason=reason)


@use_case
def wallet_unfreeze(*, actor: Actor, wallet_id: str, reason: str = "") -> Wallet:
    return _set_status(actor=actor, wallet=wallet_lock(wallet_id)[wallet_id], status=Wallet.Status.ACTIVE,
                       allowed_from=(Wallet.Status.FROZEN,), action="unfrozen",
                       audit=WalletsAction.WALLET_UNFROZEN, event=WalletsEvent.WALLET_UNFROZEN, reason=reason)


@use_case
def wallet_close(*, actor: Actor, wallet_id: str, reason: str = "") -> Wallet:
    """Closes a wallet whose balance and pending holds are both zero; closing is final."""
    # The account is locked with the wallet: its balance and holds cannot change before the close.
    wallet = wallet_lock_with_accounts(wallet_id)[wallet_id]
    account = wallet.account
    if wallet.status != Wallet.Status.CLOSED and (account.balance != 0 or account.pending_debits != 0):
        raise WalletNotEmpty(details={"wallet_id": wallet.pk, **money_details(
            wallet.currency, balance=account.balance, pending=account.pending_debits)})
    return _set_status(actor=actor, wallet=wallet, status=Wallet.Status.CLOSED,
                       allowed_from=(Wallet.Status.ACTIVE, Wallet.Status.FROZEN), action="closed",
                       audit=WalletsAction.WALLET_CLOSED, event=WalletsEvent.WALLET_CLOSED, reason=reason)


def _shown_limit(wallet: Wallet, limit: int | None) -> str | None:
    # As the wallet's `daily_limit` renders: the event compares rendered values.
    return None if limit is None else format_amount(limit, wallet.currency)


@use_case
def wallet_set_daily_limit(*, actor: Actor, wallet_id: str, daily_limit: int | None) -> Wallet:
    if daily_limit is not None and (not isinstance(daily_limit, int) or daily_limit < 0):
        raise ValidationFailed({"daily_limit": ["Must be empty or a non-negative number of minor units."]})
    wallet = wallet_lock(wallet_id)[wallet_id]
    previous = wallet.daily_limit
    wallet.daily_limit = daily_limit
    touch(wallet, "daily_limit")
    audit_record(action=WalletsAction.WALLET_LIMIT_CHANGED, actor=actor, obj=wallet,
                 details={"from": previous, "to": daily_limit})
    emit(WalletsEvent.WALLET_UPDATED, wallet, previous={"daily_limit": _shown_limit(wallet, previous)}, actor=actor)
    return wallet


@use_case
def wallet_adjust(*, actor: Actor, wallet_id: str, amount: int, reason: str) -> JournalEntry:
    """A staff correction against the suspense account: positive credits the wallet, negative debits it.

    Allowed on frozen wallets (corrections are often why a wallet is frozen), not on closed ones;
    a debit cannot take the wallet below zero.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["A reason is required for a manual adjustment."]})
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise ValidationFailed({"amount": ["Must be a non-zero number of minor units."]})
    wallet = wallet_lock(wallet_id)[wallet_id]
    if wallet.status == Wallet.Status.CLOSED:
        raise WalletFrozen("The wallet is closed.", details={"wallet_id": wallet.pk, "status": wallet.status})
    suspense = ledger.system_account(account_type=AccountType.SUSPENSE, currency=wallet.currency)
    entry = ledger.post_entry(kind="adjustment", description=f"Manual adjustment: {reason}", actor=actor,
                              postings=[(suspense, -amount), (wallet.account, amount)],
                              metadata={"wallet_id": wallet.pk, "amount": amount, "currency": wallet.currency,
                                        "reason": reason})
    audit_record(action=WalletsAction.WALLET_ADJUSTED, actor=actor, obj=wallet,
                 details={"entry_id": entry.pk, "amount": amount, "reason": reason})
    emit(WalletsEvent.WALLET_ADJUSTED, entry, actor=actor)
    return entry
