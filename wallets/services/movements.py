"""Money leaving a wallet: transfers, conversions and withdrawals.

Each one locks the wallets first (id order), checks status, currency, the daily limit and the
customer's KYC limit (`services.kyc`) under that lock, then posts one entry; the ledger checks the
overdraft under the account locks. Anything refused raises before the first write, so a refusal leaves no trace.

In a transaction its owner can retry each goes the other way round where it can: built from the wallets read
without their locks, and locked by the statement that writes it, which checks what it was built from
(`ledger.post_entry_guarded`), in the order the locked path takes. Into a busy wallet (a merchant's) and on the
platform accounts every withdrawal (provider clearing) or conversion (FX liquidity) writes, each movement then holds
its row locks for that statement and the commit, not for the whole request; a guard that refuses runs the transaction
again the first way.
"""

from __future__ import annotations

from core.audit import audit_record
from core.context import Actor
from core.db import guarded_writes_allowed, use_case
from core.errors import ValidationFailed, money_details
from core.events import emit
from core.money import CurrencyMismatch, normalize_currency, require_positive

from .. import ledger
from ..audit import WalletsAction
from ..errors import AmountTooSmall
from ..events import WalletsEvent
from ..fx import convert_minor
from ..models import AccountType, JournalEntry, Wallet
from ..selectors import exchange_rate_current
from .kyc import CONVERSION, TRANSFER, WITHDRAWAL, ensure_kyc_allows, kyc_daily_limit
from .lifecycle import (
    ensure_active,
    ensure_within_limit,
    wallet_lock,
    wallet_lock_with_accounts,
    wallet_read_with_accounts,
)


@use_case
def wallet_transfer(*, actor: Actor, from_wallet_id: str, to_wallet_id: str, amount: int, currency: str,
                    description: str = "") -> JournalEntry:
    amount = require_positive(amount)
    currency = normalize_currency(currency)
    if from_wallet_id == to_wallet_id:
        raise ValidationFailed({"to_wallet_id": ["Must differ from from_wallet_id."]})
    entry = _transfer_guarded(actor, from_wallet_id, to_wallet_id, amount, currency, description)
    if entry is None:
        entry = _transfer_locked(actor, from_wallet_id, to_wallet_id, amount, currency, description)
    source_id, target_id = entry.metadata["from_wallet_id"], entry.metadata["to_wallet_id"]
    audit_record(action=WalletsAction.WALLET_TRANSFERRED, actor=actor, object_type="wallets.wallet",
                 object_id=source_id,
                 details={"entry_id": entry.pk, "to_wallet_id": target_id, "amount": amount, "currency": currency})
    emit(WalletsEvent.TRANSFER_CREATED, entry, actor=actor)
    return entry


def _transfer_metadata(source: Wallet, target: Wallet, amount: int, currency: str) -> dict:
    return {"from_wallet_id": source.pk, "to_wallet_id": target.pk, "amount": amount, "currency": currency}


def _transfer_guarded(actor: Actor, from_wallet_id: str, to_wallet_id: str, amount: int, currency: str,
                      description: str) -> JournalEntry | None:
    """The transfer built from the wallets read without their locks, locked by its writing statement
    (`ledger.post_entry_guarded`): into a busy wallet, the lock is held for that statement and the commit
    instead of the whole request. None where the read shows anything the locked path must judge (a refusal, a
    daily or KYC limit to count under the lock), or where a refusing guard could not be retried."""
    if not guarded_writes_allowed():
        return None
    wallets = wallet_read_with_accounts(from_wallet_id, to_wallet_id)
    source, target = wallets[from_wallet_id], wallets[to_wallet_id]
    if (_debit_needs_lock(source, amount, TRANSFER) or target.status != Wallet.Status.ACTIVE
            or source.currency != currency or target.currency != currency):
        return None
    return ledger.post_entry_guarded(
        kind="transfer", description=description or f"Transfer to {target.pk}", actor=actor,
        wallets=[source, target], postings=[(source.account, -amount), (target.account, amount)],
        metadata=_transfer_metadata(source, target, amount, currency))


def _debit_needs_lock(wallet: Wallet, amount: int, movement: str) -> bool:
    """Whether `amount` out of `wallet`, read without its lock, is for the locked path to judge: a refusal to
    raise (not active, not enough available), or a daily or KYC limit to count under the lock."""
    return (wallet.status != Wallet.Status.ACTIVE or wallet.daily_limit is not None
            or kyc_daily_limit(kyc_status=wallet.customer.kyc_status, currency=wallet.currency,
                               movement=movement) is not None
            or (not wallet.account.allow_negative and wallet.account.available < amount))


def _transfer_locked(actor: Actor, from_wallet_id: str, to_wallet_id: str, amount: int, currency: str,
                     description: str) -> JournalEntry:
    # Wallets and both accounts locked in one statement, no second lock query.
    wallets = wallet_lock_with_accounts(from_wallet_id, to_wallet_id)
    source, target = wallets[from_wallet_id], wallets[to_wallet_id]
    ensure_active(source)
    ensure_active(target)
    if source.currency != currency or target.currency != currency:
        raise CurrencyMismatch(details={"currency": currency, "from_wallet_currency": source.currency,
                                        "to_wallet_currency": target.currency})
    ensure_within_limit(source, amount)
    ensure_kyc_allows(source, amount, movement=TRANSFER)
    return ledger.post_entry(
        locked={source.account_id: source.account, target.account_id: target.account},
        kind="transfer", description=description or f"Transfer to {target.pk}", actor=actor,
        postings=[(source.account, -amount), (target.account, amount)],
        metadata=_transfer_metadata(source, target, amount, currency),
    )


@use_case
def wallet_convert(*, actor: Actor, from_wallet_id: str, to_wallet_id: str, amount: int,
                   description: str = "") -> JournalEntry:
    """Converts `amount` (source minor units) between two wallets of one customer through FX liquidity.

    Four postings, balanced per currency: source wallet -> FX liquidity (source currency),
    FX liquidity (target currency) -> target wallet. The rate and its source are kept in metadata.
    """
    amount = require_positive(amount)
    if from_wallet_id == to_wallet_id:
        raise ValidationFailed({"to_wallet_id": ["Must differ from from_wallet_id."]})
    entry = _convert_guarded(actor, from_wallet_id, to_wallet_id, amount, description)
    if entry is None:
        entry = _convert_locked(actor, from_wallet_id, to_wallet_id, amount, description)
    audit_record(action=WalletsAction.WALLET_CONVERTED, actor=actor, object_type="wallets.wallet",
                 object_id=entry.metadata["from_wallet_id"], details={"entry_id": entry.pk, **entry.metadata})
    emit(WalletsEvent.CONVERSION_CREATED, entry, actor=actor)
    return entry


def _ensure_convertible(source: Wallet, target: Wallet) -> None:
    if source.customer_id != target.customer_id:
        raise ValidationFailed({"to_wallet_id": ["Conversions are between wallets of the same customer."]})
    if source.currency == target.currency:
        raise CurrencyMismatch("A conversion needs wallets in two different currencies.",
                               details={"currency": source.currency})


def _conversion(actor: Actor, source: Wallet, target: Wallet, amount: int, description: str, *,
                guarded: bool) -> dict:
    """The conversion's entry at the current rate, for `post_entry` or (`guarded`) `post_entry_guarded`."""
    rate_row, rate = exchange_rate_current(base=source.currency, quote=target.currency)
    converted = convert_minor(amount, rate=rate, source=source.currency, target=target.currency)
    if converted <= 0:
        raise AmountTooSmall(details={**money_details(source.currency, amount=amount),
                                      "rate": format(rate.normalize(), "f")})
    account = ledger.system_account_ref if guarded else ledger.system_account
    fx_source = account(account_type=AccountType.FX_LIQUIDITY, currency=source.currency)
    fx_target = account(account_type=AccountType.FX_LIQUIDITY, currency=target.currency)
    metadata = {
        "from_wallet_id": source.pk, "to_wallet_id": target.pk, "from_amount": amount,
        "from_currency": source.currency, "to_amount": converted, "to_currency": target.currency,
        "rate": str(rate), "rate_id": rate_row.pk, "rate_source": rate_row.source,
    }
    shown_rate = format(rate.normalize(), "f")
    return {"kind": "conversion", "actor": actor, "metadata": metadata,
            "description": description or f"Conversion {source.currency}->{target.currency} at {shown_rate}",
            "postings": [(source.account, -amount), (fx_source, amount), (fx_target, -converted),
                         (target.account, converted)]}


def _convert_guarded(actor: Actor, from_wallet_id: str, to_wallet_id: str, amount: int,
                     description: str) -> JournalEntry | None:
    """As `_transfer_guarded`: the FX liquidity accounts, which every conversion in their currencies writes, are
    locked by the writing statement only (after the wallets, as the locked path)."""
    if not guarded_writes_allowed():
        return None
    wallets = wallet_read_with_accounts(from_wallet_id, to_wallet_id)
    source, target = wallets[from_wallet_id], wallets[to_wallet_id]
    _ensure_convertible(source, target)
    if _debit_needs_lock(source, amount, CONVERSION) or target.status != Wallet.Status.ACTIVE:
        return None
    return ledger.post_entry_guarded(wallets=[source, target],
                                     **_conversion(actor, source, target, amount, description, guarded=True))


def _convert_locked(actor: Actor, from_wallet_id: str, to_wallet_id: str, amount: int,
                    description: str) -> JournalEntry:
    wallets = wallet_lock(from_wallet_id, to_wallet_id)
    source, target = wallets[from_wallet_id], wallets[to_wallet_id]
    _ensure_convertible(source, target)
    ensure_active(source)
    ensure_active(target)
    ensure_within_limit(source, amount)
    ensure_kyc_allows(source, amount, movement=CONVERSION)
    return ledger.post_entry(**_conversion(actor, source, target, amount, description, guarded=False))


@use_case
def wallet_withdraw(*, actor: Actor, wallet_id: str, amount: int, provider: str = "sandbox",
                    description: str = "") -> JournalEntry:
    """Moves money out of the wallet to the provider's clearing account, which pays it out."""
    amount = require_positive(amount)
    entry = _withdraw_guarded(actor, wallet_id, amount, provider, description)
    if entry is None:
        entry = _withdraw_locked(actor, wallet_id, amount, provider, description)
    audit_record(action=WalletsAction.WALLET_WITHDRAWN, actor=actor, object_type="wallets.wallet",
                 object_id=entry.metadata["wallet_id"],
                 details={"entry_id": entry.pk, "amount": amount, "provider": provider})
    emit(WalletsEvent.WITHDRAWAL_CREATED, entry, actor=actor)
    return entry


def _withdrawal(actor: Actor, wallet: Wallet, amount: int, provider: str, description: str, *,
                guarded: bool) -> dict:
    """The withdrawal's entry, for `post_entry` or (`guarded`) `post_entry_guarded`."""
    account = ledger.system_account_ref if guarded else ledger.system_account
    clearing = account(account_type=AccountType.PROVIDER_CLEARING, currency=wallet.currency,
                       owner=f"provider:{provider}")
    return {"kind": "withdrawal", "description": description or f"Withdrawal via {provider}", "actor": actor,
            "postings": [(wallet.account, -amount), (clearing, amount)],
            "metadata": {"wallet_id": wallet.pk, "amount": amount, "currency": wallet.currency, "provider": provider}}


def _withdraw_guarded(actor: Actor, wallet_id: str, amount: int, provider: str,
                      description: str) -> JournalEntry | None:
    """As `_transfer_guarded`: the provider's clearing account, which every withdrawal and card capture in the
    currency credits or debits, is locked by the writing statement only (after the wallet, as the locked path)."""
    if not guarded_writes_allowed():
        return None
    wallet = wallet_read_with_accounts(wallet_id)[wallet_id]
    if _debit_needs_lock(wallet, amount, WITHDRAWAL):
        return None
    return ledger.post_entry_guarded(wallets=[wallet],
                                     **_withdrawal(actor, wallet, amount, provider, description, guarded=True))


def _withdraw_locked(actor: Actor, wallet_id: str, amount: int, provider: str, description: str) -> JournalEntry:
    wallet: Wallet = wallet_lock(wallet_id)[wallet_id]
    ensure_active(wallet)
    ensure_within_limit(wallet, amount)
    ensure_kyc_allows(wallet, amount, movement=WITHDRAWAL)
    return ledger.post_entry(**_withdrawal(actor, wallet, amount, provider, description, guarded=False))
