"""Ledger postings for payments, written against the ledger's fixed interface (wallets.ledger).

Every function runs inside the caller's transaction, with the payment row already locked.
- capture: provider clearing -A, merchant revenue +(A - fee), fees +fee;
- refund of R: the same in reverse, with the fee share returned in proportion;
- top-up: the wallet is credited from provider clearing through `wallet_credit_topup`;
- wallet payment: a hold on the customer's wallet, captured into merchant revenue.
"""

from __future__ import annotations

from core.context import Actor
from core.db import require_transaction
from wallets import ledger
from wallets import selectors as wallet_selectors
from wallets import services as wallet_services
from wallets.ledger import AccountType

from ..models import FeeSchedule, Payment, Refund

WALLET_PROVIDER = "wallet"


def clearing_account(*, provider: str, currency: str):
    return ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=currency,
                                 owner=f"provider:{provider}")


def revenue_account(*, currency: str):
    return ledger.system_account(account_type=AccountType.MERCHANT_REVENUE, currency=currency)


def fees_account(*, currency: str):
    return ledger.system_account(account_type=AccountType.FEES, currency=currency)


def _fee_schedule(*, provider: str, currency: str) -> FeeSchedule | None:
    return FeeSchedule.objects.filter(provider=provider, currency=currency, active=True).first()


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


def post_captures(captures: list[tuple[Payment, int]], *, actor: Actor) -> list[tuple[str, int]]:
    """Card captures (no wallet, no top-up): per payment one entry, clearing -A, revenue +(A - fee),
    fees +fee, under the payment's own idempotency key; the accounts and fee schedule are looked up
    once per (provider, currency) and the ledger writes the lot at once. Returns (entry id, fee) per
    capture; ("", 0) where the amount is not positive, as `apply_result` posts nothing then."""
    require_transaction()
    books: dict[tuple[str, str], tuple] = {}
    fees_charged: list[int | None]
    drafts, fees_charged = [], []
    for payment, amount in captures:
        if amount <= 0:
            fees_charged.append(None)
            continue
        key = (payment.provider, payment.currency)
        if key not in books:
            books[key] = (clearing_account(provider=payment.provider, currency=payment.currency),
                          revenue_account(currency=payment.currency), fees_account(currency=payment.currency),
                          _fee_schedule(provider=payment.provider, currency=payment.currency))
        clearing, revenue, fees_acc, schedule = books[key]
        fee = _fee(schedule, amount)
        rows = [(clearing, -amount), (revenue, amount - fee)]
        if fee:
            rows.append((fees_acc, fee))
        drafts.append(ledger.EntryDraft(kind="payment_capture", description=f"Capture of {payment.id}",
                                        postings=[p for p in rows if p[1]], metadata=_meta(payment, fee=fee),
                                        idempotency_key=f"{payment.id}:capture"))
        fees_charged.append(fee)
    entries = iter(ledger.post_entries(drafts=drafts, actor=actor) if drafts else [])
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
    if payment.method == Payment.Method.WALLET:
        wallet = wallet_selectors.wallet_get(wallet_id=payment.payment_method)
        postings = [(revenue_account(currency=currency), -amount), (wallet_selectors.wallet_account(wallet=wallet),
                                                                    amount)]
    elif payment.wallet_id:
        wallet = wallet_selectors.wallet_get(wallet_id=payment.wallet_id)
        postings = [(wallet_selectors.wallet_account(wallet=wallet), -amount),
                    (clearing_account(provider=payment.provider, currency=currency), amount)]
    else:
        postings = [(revenue_account(currency=currency), -(amount - fee_back)),
                    (clearing_account(provider=payment.provider, currency=currency), amount)]
        if fee_back:
            postings.append((fees_account(currency=currency), -fee_back))
    entry = ledger.post_entry(kind="payment_refund", description=f"Refund {refund.id} of {payment.id}",
                              actor=actor, postings=[p for p in postings if p[1]], metadata=meta,
                              idempotency_key=f"{refund.id}:refund")
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
