"""Public wallet operations (scope area: wallets). Names are the MCP tool names: a contract.

Handlers here are thin: they parse amounts with the wallet's currency (an edge concern) and
call one service or selector. `top_up_wallet` belongs to payments.
"""

from __future__ import annotations

from typing import Any

from core.money import normalize_currency, parse_amount
from core.operations import Operation, amount_value, register

from . import ledger, selectors, services
from .models import JournalEntry
from .serializers import (
    AdjustInput,
    CloseInput,
    ConvertInput,
    DailyLimitInput,
    EntrySerializer,
    FreezeInput,
    HistoryInput,
    InsightsInput,
    InsightsSerializer,
    ReverseEntryInput,
    TransactionSerializer,
    TransferInput,
    UnfreezeInput,
    WalletBalanceInput,
    WalletCreateInput,
    WalletListInput,
    WalletSerializer,
    WithdrawInput,
)

# The codes every amount-taking wallet operation can answer, ending its own "Errors:" list.
AMOUNT_ERRORS = "not_found, validation_error, invalid_amount, amount_too_precise, amount_not_positive"


def entry_view(entry: JournalEntry) -> dict[str, Any]:
    """An entry as the operation that made it: `amount` as requested (signed for adjustments)."""
    meta = entry.metadata or {}
    amount = meta.get("amount", meta.get("from_amount"))
    currency = meta.get("currency", meta.get("from_currency"))
    if amount is None:
        postings = getattr(entry, "posting_rows", None) or list(entry.postings.all())
        amount, currency = max(abs(p.amount) for p in postings), postings[0].currency
    wallet_id = meta.get("wallet_id")
    return {
        "id": entry.pk, "object": entry.kind, "kind": entry.kind, "description": entry.description,
        "wallet_id": wallet_id or meta.get("from_wallet_id"),
        "from_wallet_id": meta.get("from_wallet_id", wallet_id if entry.kind == "withdrawal" else None),
        "to_wallet_id": meta.get("to_wallet_id", wallet_id if entry.kind == "wallet_topup" else None),
        "amount": amount, "currency": currency, "to_amount": meta.get("to_amount"),
        "to_currency": meta.get("to_currency"), "rate": meta.get("rate"), "created": entry.created,
    }


def _fresh(wallet):
    return selectors.wallet_get(wallet_id=wallet.pk)


def _create(*, actor, customer_id, currency, daily_limit=None):
    limit = None if daily_limit is None else parse_amount(daily_limit, normalize_currency(currency),
                                                          allow_zero=True, field="daily_limit")
    return _fresh(services.wallet_create(actor=actor, customer_id=customer_id, currency=currency,
                                         daily_limit=limit))


def _balance(*, actor, wallet_id=None, customer_id=None, currency=None):
    if wallet_id:
        return selectors.wallet_get(wallet_id=wallet_id)
    return selectors.wallet_find(customer_id=customer_id, currency=currency)


def _list(*, actor, **filters):
    return selectors.wallet_list(**filters)


def _freeze(*, actor, wallet_id, reason=""):
    return _fresh(services.wallet_freeze(actor=actor, wallet_id=wallet_id, reason=reason))


def _unfreeze(*, actor, wallet_id, reason=""):
    return _fresh(services.wallet_unfreeze(actor=actor, wallet_id=wallet_id, reason=reason))


def _close(*, actor, wallet_id, reason=""):
    return _fresh(services.wallet_close(actor=actor, wallet_id=wallet_id, reason=reason))


def _set_daily_limit(*, actor, wallet_id, daily_limit=None):
    currency = selectors.wallet_currency(wallet_id=wallet_id)
    limit = None if daily_limit is None else parse_amount(daily_limit, currency, allow_zero=True,
                                                          field="daily_limit")
    return _fresh(services.wallet_set_daily_limit(actor=actor, wallet_id=wallet_id, daily_limit=limit))


def _reverse(*, actor, entry_id, reason):
    return entry_view(ledger.entry_reverse(actor=actor, entry_id=entry_id, reason=reason))


def _adjust(*, actor, wallet_id, amount, reason):
    minor = parse_amount(amount, selectors.wallet_currency(wallet_id=wallet_id), allow_negative=True)
    return entry_view(services.wallet_adjust(actor=actor, wallet_id=wallet_id, amount=minor, reason=reason))


def _transfer(*, actor, from_wallet_id, to_wallet_id, amount, currency, description=""):
    currency = normalize_currency(currency)
    return entry_view(services.wallet_transfer(actor=actor, from_wallet_id=from_wallet_id,
                                               to_wallet_id=to_wallet_id, amount=parse_amount(amount, currency),
                                               currency=currency, description=description))


def _convert(*, actor, from_wallet_id, to_wallet_id, amount, description=""):
    minor = parse_amount(amount, selectors.wallet_currency(wallet_id=from_wallet_id))
    return entry_view(services.wallet_convert(actor=actor, from_wallet_id=from_wallet_id,
                                              to_wallet_id=to_wallet_id, amount=minor, description=description))


def _withdraw(*, actor, wallet_id, amount, description=""):
    minor = parse_amount(amount, selectors.wallet_currency(wallet_id=wallet_id))
    return entry_view(services.wallet_withdraw(actor=actor, wallet_id=wallet_id, amount=minor,
                                               description=description))


def _history(*, actor, **filters):
    return selectors.wallet_transaction_history(**filters)


def _insights(*, actor, **filters):
    return selectors.wallet_insights(**filters)


WALLET = ("wallets",)

register(Operation(
    name="create_wallet", title="Create wallet",
    description=("Opens a wallet (wal_) for a customer in one currency (one wallet per customer and currency), "
                 "with an optional daily outgoing limit in major units. Side effect: a wallet and its ledger "
                 "account. Errors: not_found (customer), wallet_exists, unsupported_currency, validation_error."),
    handler=_create, scope="wallets:write", permission="wallets.add_wallet", input=WalletCreateInput,
    output=WalletSerializer, read_only=False, success_status=201, tags=WALLET,
))
register(Operation(
    name="get_wallet_balance", title="Get wallet and balance",
    description=("Returns a wallet with its posted balance and available balance (posted minus pending holds) "
                 "as decimal strings. Give wallet_id, or customer_id and currency. Errors: not_found."),
    handler=_balance, scope="wallets:read", permission="wallets.view_wallet", input=WalletBalanceInput,
    output=WalletSerializer, tags=WALLET,
))
register(Operation(
    name="list_wallets", title="List wallets",
    description="Lists wallets, newest first, by customer_id, currency and status; limit (max 100) and cursor.",
    handler=_list, scope="wallets:read", permission="wallets.view_wallet", input=WalletListInput,
    output=WalletSerializer, many=True, tags=WALLET,
))
register(Operation(
    name="transfer_funds", title="Transfer between wallets",
    description=("Moves amount (major units, decimal string) from one wallet to another of the same currency, "
                 "as one journal entry (txn_). Checks the source's daily limit, its customer's KYC limit "
                 "(not verified: a daily limit per currency; rejected: none) and available balance under "
                 "lock. Errors: insufficient_funds, currency_mismatch, wallet_frozen, limit_exceeded, kyc_required, "
                 + AMOUNT_ERRORS + "."),
    handler=_transfer, scope="wallets:write", permission="wallets.transfer_funds", input=TransferInput,
    # Money leaves the payer for good, so staff may require approval above a threshold.
    output=EntrySerializer, read_only=False, destructive=True, approvable=True, success_status=201, tags=WALLET,
    value=amount_value(),
))
register(Operation(
    name="wallet_transaction_history", title="Wallet transaction history",
    description=("The wallet's ledger postings, newest first: signed amount, balance after, kind and "
                 "counterparty. Filters: start_date (inclusive), end_date (inclusive date or exclusive "
                 "datetime), kind; limit (max 100) and cursor. Errors: not_found, validation_error."),
    handler=_history, scope="wallets:read", permission="wallets.view_wallet", input=HistoryInput,
    output=TransactionSerializer, many=True, tags=WALLET,
))
register(Operation(
    name="wallet_insights", title="Wallet spending insights",
    description=("Totals by kind and counterparty over a period (default the last 30 days), the change against "
                 "the previous period of the same length, and unusual outgoing transactions by z-score against "
                 "the wallet's own history; says so when the history is too short. Read-only."),
    handler=_insights, scope="wallets:read", permission="wallets.view_wallet", input=InsightsInput,
    output=InsightsSerializer, tags=WALLET,
))
register(Operation(
    name="freeze_wallet", title="Freeze wallet",
    description=("Freezes an active wallet: no money moves in or out until unfrozen (staff adjustments "
                 "excepted). Repeating it changes nothing. Errors: not_found, invalid_state_transition (closed)."),
    handler=_freeze, scope="wallets:write", permission="wallets.freeze_wallet", input=FreezeInput,
    output=WalletSerializer, read_only=False, tags=WALLET,
))
register(Operation(
    name="unfreeze_wallet", title="Unfreeze wallet",
    description="Makes a frozen wallet active again. Errors: not_found, invalid_state_transition (closed).",
    handler=_unfreeze, scope="wallets:write", permission="wallets.freeze_wallet", input=UnfreezeInput,
    output=WalletSerializer, read_only=False, tags=WALLET,
))
register(Operation(
    name="close_wallet", title="Close wallet",
    description=("Closes a wallet for good; only when its balance and pending holds are zero. "
                 "Errors: not_found, wallet_not_empty."),
    handler=_close, scope="wallets:write", permission="wallets.change_wallet", input=CloseInput,
    output=WalletSerializer, read_only=False, destructive=True, tags=WALLET,
))
register(Operation(
    name="adjust_wallet", title="Adjust wallet (staff)",
    description=("A manual correction against the suspense account: positive amount credits the wallet, "
                 "negative debits it (never below zero). reason is mandatory. Errors: insufficient_funds, "
                 "wallet_frozen (closed), " + AMOUNT_ERRORS + "."),
    handler=_adjust, scope="wallets:write", permission="wallets.adjust_wallet", input=AdjustInput,
    output=EntrySerializer, read_only=False, success_status=201, tags=WALLET,
))
register(Operation(
    name="convert_funds", title="Convert between a customer's wallets",
    description=("Converts amount (source currency, major units) into the customer's wallet in another "
                 "currency through FX liquidity at the stored rate, rounded down to the target's minor unit. "
                 "Counts against the customer's KYC daily limit with transfers. "
                 "Errors: rate_not_found, amount_too_small, insufficient_funds, currency_mismatch, "
                 "wallet_frozen, limit_exceeded, kyc_required, " + AMOUNT_ERRORS + "."),
    handler=_convert, scope="wallets:write", permission="wallets.convert_funds", input=ConvertInput,
    output=EntrySerializer, read_only=False, success_status=201, tags=WALLET,
))
register(Operation(
    name="withdraw_funds", title="Withdraw from a wallet",
    description=("Moves amount out of the wallet to the provider's clearing account for payout; only for "
                 "customers whose KYC is verified (by default). Errors: "
                 "insufficient_funds, wallet_frozen, limit_exceeded, kyc_required, " + AMOUNT_ERRORS + "."),
    handler=_withdraw, scope="wallets:write", permission="wallets.withdraw_funds", input=WithdrawInput,
    output=EntrySerializer, read_only=False, destructive=True, approvable=True, success_status=201, tags=WALLET,
    target="get_wallet_balance", value=amount_value(currency=None),
))

# Staff only: the admin is their one door (no REST route, no MCP tool).
STAFF_ONLY = frozenset({"admin"})

register(Operation(
    name="set_wallet_daily_limit", title="Set a wallet's daily limit",
    description=("Sets the wallet's outgoing limit per UTC day (major units of its currency); left out, the "
                 "wallet has no limit. Errors: " + AMOUNT_ERRORS + "."),
    handler=_set_daily_limit, scope="wallets:write", permission="wallets.change_wallet", input=DailyLimitInput,
    output=WalletSerializer, read_only=False, tags=WALLET, doors=STAFF_ONLY,
))
register(Operation(
    name="reverse_journal_entry", title="Reverse a journal entry",
    description=("Posts a new entry with every posting of the original negated (the original stays as it was); "
                 "reason is mandatory. Errors: not_found, entry_already_reversed, insufficient_funds, "
                 "validation_error."),
    handler=_reverse, scope="wallets:write", permission="wallets.reverse_journalentry", input=ReverseEntryInput,
    output=EntrySerializer, read_only=False, destructive=True, success_status=201, tags=WALLET, doors=STAFF_ONLY,
))
