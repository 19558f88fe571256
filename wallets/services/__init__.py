"""Wallet writes. Each public `wallet_<action>` is a use case (`core.db.use_case`): called alone it opens
its transaction, inside another use case it joins it. The lock helpers (`wallet_lock*`) and the can-pay check
that payments makes before reserving require the caller's transaction.

Lock order, everywhere: wallet rows (id order), then holds, then ledger accounts (id order,
inside `ledger`). Nothing locks an account and then a wallet, so wallet services cannot
deadlock against each other or against payments' holds.
"""

from ..selectors import wallet_account, wallet_get
from .fx import exchange_rate_set
from .lifecycle import (
    ensure_active,
    ensure_within_limit,
    wallet_adjust,
    wallet_close,
    wallet_create,
    wallet_credit_topup,
    wallet_ensure_can_pay,
    wallet_freeze,
    wallet_lock,
    wallet_set_daily_limit,
    wallet_unfreeze,
)
from .movements import wallet_convert, wallet_transfer, wallet_withdraw

__all__ = [
    "wallet_get", "wallet_account", "wallet_create", "wallet_credit_topup", "wallet_ensure_can_pay", "wallet_lock",
    "wallet_freeze", "wallet_unfreeze", "wallet_close", "wallet_adjust", "wallet_set_daily_limit",
    "wallet_transfer", "wallet_convert", "wallet_withdraw", "exchange_rate_set", "ensure_active",
    "ensure_within_limit",
]
