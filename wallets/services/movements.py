"""Money leaving a wallet: transfers, conversions and withdrawals.

Each one locks the wallets first (id order), checks status, currency, the daily limit and the
customer's KYC limit (`services.kyc`) under that lock, then posts one entry; the ledger checks the
overdraft under the account locks. Anything refused raises before the first write, so a refusal leaves no trace.

A transfer in a transaction its owner can retry goes the other way round where it can: built from the wallets read
without their locks, and locked by the statement that writes it, which checks what it was built from
(`ledger.post_entry_guarded`). Into a busy wallet (a merchant's) each transfer then holds its row lock for that
statement and the commit, not for the whole request; a guard that refuses runs the transaction again the first way.
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
    active = Wallet.Status.ACTIVE
    if (source.status != active or target.status != active or source.currency != currency
            or target.currency != currency or source.daily_limit is not None
            or kyc_daily_limit(kyc_status=source.customer.kyc_status, currency=currency, movement=TRANSFER) is not None
            or (not source.account.allow_negative and source.account.available < amount)):
        return None
    return ledger.post_entry_guarded(
        kind="transfer", description=description or f"Transfer to {target.pk}", actor=actor,
        wallets=[source, target], amounts=[-amount, amount],
        metadata=_transfer_metadata(source, target, amount, currency))


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
    wallets = wallet_lock(from_wallet_id, to_wallet_id)
    source, target = wallets[from_wallet_id], wallets[to_wallet_id]
    if source.customer_id != target.customer_id:
        raise ValidationFailed({"to_wallet_id": ["Conversions are between wallets of the same customer."]})
    if source.currency == target.currency:
        raise CurrencyMismatch("A conversion needs wallets in two different currencies.",
                               details={"currency": source.currency})
    ensure_active(source)
    ensure_active(target)
    ensure_within_limit(source, amount)
    ensure_kyc_allows(source, amount, movement=CONVERSION)
    rate_row, rate = exchange_rate_current(base=source.currency, quote=target.currency)
    converted = convert_minor(amount, rate=rate, source=source.currency, target=target.currency)
    if converted <= 0:
        raise AmountTooSmall(details={**money_details(source.currency, amount=amount),
                                      "rate": format(rate.normalize(), "f")})
    fx_source = ledger.system_account(account_type=AccountType.FX_LIQUIDITY, currency=source.currency)
    fx_target = ledger.system_account(account_type=AccountType.FX_LIQUIDITY, currency=target.currency)
    metadata = {
        "from_wallet_id": source.pk, "to_wallet_id": target.pk, "from_amount": amount,
        "from_currency": source.currency, "to_amount": converted, "to_currency": target.currency,
        "rate": str(rate), "rate_id": rate_row.pk, "rate_source": rate_row.source,
    }
    shown_rate = format(rate.normalize(), "f")
    entry = ledger.post_entry(
        kind="conversion", actor=actor,
        description=description or f"Conversion {source.currency}->{target.currency} at {shown_rate}",
        postings=[(source.account, -amount), (fx_source, amount), (fx_target, -converted),
                  (target.account, converted)],
        metadata=metadata,
    )
    audit_record(action=WalletsAction.WALLET_CONVERTED, actor=actor, obj=source,
                 details={"entry_id": entry.pk, **metadata})
    emit(WalletsEvent.CONVERSION_CREATED, entry, actor=actor)
    return entry


@use_case
def wallet_withdraw(*, actor: Actor, wallet_id: str, amount: int, provider: str = "sandbox",
                    description: str = "") -> JournalEntry:
    """Moves money out of the wallet to the provider's clearing account, which pays it out."""
    amount = require_positive(amount)
    wallet: Wallet = wallet_lock(wallet_id)[wallet_id]
    ensure_active(wallet)
    ensure_within_limit(wallet, amount)
    ensure_kyc_allows(wallet, amount, movement=WITHDRAWAL)
    clearing = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=wallet.currency,
                                     owner=f"provider:{provider}")
    entry = ledger.post_entry(
        kind="withdrawal", description=description or f"Withdrawal via {provider}", actor=actor,
        postings=[(wallet.account, -amount), (clearing, amount)],
        metadata={"wallet_id": wallet.pk, "amount": amount, "currency": wallet.currency, "provider": provider},
    )
    audit_record(action=WalletsAction.WALLET_WITHDRAWN, actor=actor, obj=wallet,
                 details={"entry_id": entry.pk, "amount": amount, "provider": provider})
    emit(WalletsEvent.WITHDRAWAL_CREATED, entry, actor=actor)
    return entry
