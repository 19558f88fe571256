"""Ledger postings for payments, written against the ledger's fixed interface (wallets.ledger).

Every function runs inside the caller's transaction, with the payment row already locked.
- capture: provider clearing -A, merchant revenue +(A - fee), fees +fee;
- refund of R: the same in reverse, with the fee share returned in proportion;
- top-up: the wallet is credited from provider clearing through `wallet_credit_topup`;
- wallet payment: a hold on the customer's wallet, captured into merchant revenue.
"""

from __future__ import annotations

from django.conf import settings

from core.context import Actor
from core.db import require_transaction
from core.localcache import LocalCache
from wallets import ledger
from wallets import selectors as wallet_selectors
from wallets import services as wallet_services
from wallets.ledger import AccountType

from ..models import FeeSchedule, Payment, Refund

WALLET_PROVIDER = "wallet"


def clearing_key(*, provider: str, currency: str) -> ledger.AccountKey:
    return f"provider:{provider}", AccountType.PROVIDER_CLEARING, currency


def revenue_key(*, currency: str) -> ledger.AccountKey:
    return "platform", AccountType.MERCHANT_REVENUE, currency


def fees_key(*, currency: str) -> ledger.AccountKey:
    return "platform", AccountType.FEES, currency


def clearing_account(*, provider: str, currency: str):
    owner, account_type, currency = clearing_key(provider=provider, currency=currency)
    return ledger.system_account(account_type=account_type, currency=currency, owner=owner)


def revenue_account(*, currency: str):
    return ledger.system_account(account_type=AccountType.MERCHANT_REVENUE, currency=currency)


def fees_account(*, currency: str):
    return ledger.system_account(account_type=AccountType.FEES, currency=currency)


def settings_cache_seconds() -> float:
    """How long a process keeps fee schedules and routing rules it read: a change saved in another
    process applies here within this bound (in the saving process, to the next payment)."""
    return float(getattr(settings, "PAYMENTS_SETTINGS_CACHE_SECONDS", 5))


# (provider, currency) -> the active schedule or None; cleared by payments.signals on save and delete.
fee_schedules: LocalCache[FeeSchedule | None] = LocalCache("payments.fee_schedules", seconds=settings_cache_seconds)


def _fee_schedule(*, provider: str, currency: str) -> FeeSchedule | None:
    return fee_schedules.get((provider, currency), lambda: FeeSchedule.objects.filter(
        provider=provider, currency=currency, active=True).first())


def _fee(schedule: FeeSchedule | None, amount: int) -> int:
    if schedule is None:
        return 0
    # Half-up on the percentage part, integer arithmetic only.
    percent = (amount * schedule.percent_bps * 2 + 10_000) // 20_000
    return min(percent + schedule.fixed_amount, amount)


def _meta(payment: Payment, **extra) -> dict:
    return {"payment_id": payment.id, "customer_id": payment.customer_id, **extra}


def post_capture(*, payment: Payment, amount: int, actor: Actor) -> tuple[str, int]:
    """Posts a capture of `amount`; returns (entry id, fee charged)."""
    require_transaction()
    currency = payment.currency
    if payment.method == Payment.Method.WALLET:
        entry = ledger.hold_capture(hold_id=payment.hold_id, amount=amount, destination=revenue_account(
            currency=currency), actor=actor, kind="wallet_payment", description=f"Wallet payment {payment.id}",
            metadata=_meta(payment))
        return entry.id, 0
    clearing = clearing_account(provider=payment.provider, currency=currency)
    if payment.wallet_id:
        entry = wallet_services.wallet_credit_topup(wallet_id=payment.wallet_id, amount=amount, source=clearing,
                                                    actor=actor, reference=payment.id, metadata=_meta(payment))
        return entry.id, 0
    [(entry_id, fee)] = post_captures([(payment, amount)], actor=actor)
    return entry_id, fee


def _card_fee(payment: Payment, amount: int) -> int:
    return _fee(_fee_schedule(provider=payment.provider, currency=payment.currency), amount)


def _card_capture_keys(payment: Payment, fee: int) -> list[ledger.AccountKey]:
    """The accounts a card capture posts to: clearing, revenue, and fees where a fee is charged."""
    keys = [clearing_key(provider=payment.provider, currency=payment.currency), revenue_key(currency=payment.currency)]
    return keys + [fees_key(currency=payment.currency)] if fee else keys


def lock_for_captures(captures: list[tuple[Payment, int]]) -> None:
    """Takes at once every lock the postings of a batch of captures (payment, amount) will take, in the order
    every movement takes them: wallets by id, then accounts by id. Posted in turn, the card captures lock the
    platform's accounts and each top-up then its wallet: a withdrawal from that wallet, holding it and asking
    for the provider's clearing account, would deadlock with the batch. Nothing is taken when one posting
    takes every lock itself (card captures only, or one top-up). Wallet payments are captured one at a time
    (`payment_capture`, the create path's wallet step), from their hold: not counted here."""
    require_transaction()
    posted = [(payment, amount) for payment, amount in captures
              if amount > 0 and payment.method != Payment.Method.WALLET]
    top_ups = {payment.wallet_id for payment, _ in posted if payment.wallet_id}
    if not top_ups or len(posted) == 1:
        return
    keys = []
    for payment, amount in posted:
        keys += ([clearing_key(provider=payment.provider, currency=payment.currency)] if payment.wallet_id else
                 _card_capture_keys(payment, _card_fee(payment, amount)))
    wallets = wallet_services.wallet_lock(*top_ups)
    # The platform's ids as this process keeps them: one kept from a creation since rolled back locks nothing
    # here, and the posting's own lock (which checks its rows) takes that account later, as before.
    platform = [ledger.system_account_ref(account_type=account_type, currency=currency, owner=owner).pk
                for owner, account_type, currency in dict.fromkeys(keys)]
    ledger.lock_accounts([wallet.account_id for wallet in wallets.values()] + platform)


def post_captures(captures: list[tuple[Payment, int]], *, actor: Actor) -> list[tuple[str, int]]:
    """Card captures (no wallet, no top-up): per payment one entry, clearing -A, revenue +(A - fee),
    fees +fee, under the payment's own idempotency key; the accounts and fee schedule are looked up
    once per (provider, currency) and the ledger writes the lot at once. Returns (entry id, fee) per
    capture; ("", 0) where the amount is not positive, as `apply_result` posts nothing then."""
    require_transaction()
    fees = [_card_fee(payment, amount) if amount > 0 else None for payment, amount in captures]
    # Every account of the lot locked (and read: balances) in one statement, in id order.
    keys = []
    for (payment, _), fee in zip(captures, fees, strict=True):
        if fee is not None:
            keys += _card_capture_keys(payment, fee)
    capture_keys = {f"{payment.id}:capture" for (payment, _), fee in zip(captures, fees, strict=True)
                    if fee is not None}
    # The entries' idempotency check rides on the same statement (PostgreSQL).
    books = ledger.lock_system_accounts(keys, entry_keys=capture_keys) if keys else None
    accounts = books.accounts if books else {}
    fees_charged: list[int | None]
    drafts, fees_charged = [], []
    for (payment, amount), fee in zip(captures, fees, strict=True):
        if fee is None:
            fees_charged.append(None)
            continue
        rows = [(accounts[clearing_key(provider=payment.provider, currency=payment.currency)], -amount),
                (accounts[revenue_key(currency=payment.currency)], amount - fee)]
        if fee:
            rows.append((accounts[fees_key(currency=payment.currency)], fee))
        drafts.append(ledger.EntryDraft(kind="payment_capture", description=f"Capture of {payment.id}",
                                        postings=[p for p in rows if p[1]], metadata=_meta(payment, fee=fee),
                                        idempotency_key=f"{payment.id}:capture"))
        fees_charged.append(fee)
    entries = iter(ledger.post_entries(drafts=drafts, actor=actor, locked=books.by_id(), existing=books.entries)
                   if books and drafts else [])
    return [("", 0) if fee is None else (next(entries).id, fee) for fee in fees_charged]


def fee_share(*, payment: Payment, refunded_total_after: int) -> int:
    """The fee returned by a refund: proportional, cumulative, so a full refund returns it all."""
    if not payment.fee_amount or not payment.amount_captured:
        return 0
    owed_back = payment.fee_amount * refunded_total_after // payment.amount_captured
    return max(owed_back - payment.fee_refunded, 0)


def post_refund(*, payment: Payment, refund: Refund, fee_back: int, actor: Actor) -> str:
    require_transaction()
    currency, amount = payment.currency, refund.amount
    meta = _meta(payment, refund_id=refund.id, fee_returned=fee_back)
    key = f"{refund.id}:refund"
    locked: dict | None = None
    existing: dict | None = None
    if payment.method == Payment.Method.WALLET:
        wallet = wallet_selectors.wallet_get(wallet_id=payment.payment_method)
        postings = [(revenue_account(currency=currency), -amount), (wallet_selectors.wallet_account(wallet=wallet),
                                                                    amount)]
    elif payment.wallet_id:
        wallet = wallet_selectors.wallet_get(wallet_id=payment.wallet_id)
        postings = [(wallet_selectors.wallet_account(wallet=wallet), -amount),
                    (clearing_account(provider=payment.provider, currency=currency), amount)]
    else:
        # The platform's accounts only: locked and read in one statement (see post_captures).
        keys = [revenue_key(currency=currency), clearing_key(provider=payment.provider, currency=currency)]
        books = ledger.lock_system_accounts(keys + ([fees_key(currency=currency)] if fee_back else []),
                                            entry_keys={key})
        postings = [(books.accounts[keys[0]], -(amount - fee_back)), (books.accounts[keys[1]], amount)]
        if fee_back:
            postings.append((books.accounts[fees_key(currency=currency)], -fee_back))
        locked, existing = books.by_id(), books.entries
    entry = ledger.post_entry(kind="payment_refund", description=f"Refund {refund.id} of {payment.id}",
                              actor=actor, postings=[p for p in postings if p[1]], metadata=meta,
                              idempotency_key=key, locked=locked, existing=existing)
    return entry.id


def wallet_reserve(*, payment: Payment, actor: Actor) -> str:
    """Checks the wallet can pay and puts a hold on it; returns the hold id."""
    require_transaction()
    wallet = wallet_selectors.wallet_get(wallet_id=payment.payment_method)
    wallet_services.wallet_ensure_can_pay(wallet=wallet, amount=payment.amount)
    hold = ledger.hold_reserve(account=wallet_selectors.wallet_account(wallet=wallet), amount=payment.amount,
                               actor=actor, description=f"Wallet payment {payment.id}",
                               metadata=_meta(payment))
    return hold.id


def wallet_release(*, payment: Payment, actor: Actor) -> None:
    require_transaction()
    ledger.hold_void(hold_id=payment.hold_id, actor=actor)
