"""Wallet writes. Every function runs inside the use case's transaction (`require_transaction`).

Lock order, everywhere: wallet rows (id order), then holds, then ledger accounts (id order,
inside `ledger`). Nothing locks an account and then a wallet, so wallet services cannot
deadlock against each other or against payments' holds.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.selectors import customer_get
from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction
from core.money import normalize_currency

from . import ledger
from .errors import CurrencyMismatch, InsufficientFunds, LimitExceeded, WalletExists, WalletFrozen
from .models import AccountType, JournalEntry, LedgerAccount, Wallet
from .selectors import wallet_account, wallet_get, wallet_outgoing_today

__all__ = ["wallet_create", "wallet_get", "wallet_account", "wallet_credit_topup", "wallet_ensure_can_pay",
           "wallet_lock"]


def wallet_create(*, actor: Actor, customer_id: str, currency: str, daily_limit: int | None = None) -> Wallet:
    require_transaction()
    customer = customer_get(customer_id=customer_id)
    currency = normalize_currency(currency)
    if Wallet.objects.filter(customer=customer, currency=currency).exists():
        raise WalletExists(details={"customer_id": customer.pk, "currency": currency})
    try:
        with transaction.atomic():
            account = ledger.account_open(owner=customer.pk, account_type=AccountType.CUSTOMER_WALLET,
                                          currency=currency)
            now = clock.now()
            wallet = Wallet(customer=customer, currency=currency, account=account, daily_limit=daily_limit,
                            created=now, updated=now)
            wallet.save(force_insert=True)
    except IntegrityError:
        # A concurrent create of the same (customer, currency) won the unique constraint.
        raise WalletExists(details={"customer_id": customer.pk, "currency": currency})
    audit_record(action="wallet.created", actor=actor, obj=wallet, details={"currency": currency})
    return wallet


def wallet_lock(*wallet_ids: str) -> dict[str, Wallet]:
    """Locks the wallets in id order; unknown ids are 404."""
    wallets = {w.pk: w for w in [wallet_get(wallet_id=wid) for wid in wallet_ids]}
    locked = {w.pk: w for w in Wallet.objects.select_for_update(of=("self",)).select_related("account")
              .filter(pk__in=sorted(wallets)).order_by("pk")}
    return {wid: locked[wid] for wid in wallet_ids}


def ensure_active(wallet: Wallet) -> None:
    if wallet.status != Wallet.Status.ACTIVE:
        raise WalletFrozen(f"The wallet is {wallet.status}.", details={"wallet_id": wallet.pk,
                                                                       "status": wallet.status})


def ensure_within_limit(wallet: Wallet, amount: int) -> None:
    if wallet.daily_limit is None:
        return
    used = wallet_outgoing_today(wallet=wallet)
    if used + amount > wallet.daily_limit:
        raise LimitExceeded(details={"wallet_id": wallet.pk, "daily_limit": wallet.daily_limit,
                                     "used_today": used, "amount": amount, "currency": wallet.currency})


def wallet_ensure_can_pay(*, wallet: Wallet, amount: int) -> None:
    """For wallet payments: locks the wallet and checks status, daily limit and available balance.

    The caller then reserves with `ledger.hold_reserve` in the same transaction, so the checks
    still hold when the hold is written.
    """
    require_transaction()
    ledger._check_amount(amount)
    wallet = wallet_lock(wallet.pk)[wallet.pk]
    ensure_active(wallet)
    ensure_within_limit(wallet, amount)
    available = ledger.account_available(wallet.account)
    if available < amount:
        raise InsufficientFunds(details={"wallet_id": wallet.pk, "available": available, "amount": amount,
                                         "currency": wallet.currency})


def wallet_credit_topup(*, wallet_id: str, amount: int, source: LedgerAccount, actor: Actor, reference: str,
                        metadata: dict | None = None) -> JournalEntry:
    """The hook payments calls when a top-up payment succeeded: credits the wallet from `source`."""
    require_transaction()
    ledger._check_amount(amount)
    wallet = wallet_lock(wallet_id)[wallet_id]
    ensure_active(wallet)
    if source.currency != wallet.currency:
        raise CurrencyMismatch(details={"wallet_currency": wallet.currency, "source_currency": source.currency})
    entry = ledger.post_entry(kind="wallet_topup", description=f"Top-up {reference}".strip(), actor=actor,
                              postings=[(source, -amount), (wallet.account, amount)],
                              metadata={"wallet_id": wallet.pk, "reference": reference, **(metadata or {})})
    audit_record(action="wallet.topped_up", actor=actor, obj=wallet,
                 details={"entry_id": entry.pk, "amount": amount, "reference": reference})
    return entry
