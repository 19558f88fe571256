"""Audit actions of wallets and the ledger (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class WalletsAction(models.TextChoices):
    WALLET_CREATED = "wallet.created", "A wallet was opened"
    WALLET_FROZEN = "wallet.frozen", "A wallet was frozen"
    WALLET_UNFROZEN = "wallet.unfrozen", "A frozen wallet was made active again"
    WALLET_CLOSED = "wallet.closed", "A wallet was closed"
    WALLET_LIMIT_CHANGED = "wallet.limit_changed", "A wallet's daily limit changed"
    WALLET_ADJUSTED = "wallet.adjusted", "Staff adjusted a wallet's balance"
    WALLET_TRANSFERRED = "wallet.transferred", "Money moved between two wallets"
    WALLET_CONVERTED = "wallet.converted", "Money was converted between a customer's wallets"
    WALLET_WITHDRAWN = "wallet.withdrawn", "Money was withdrawn from a wallet"
    WALLET_TOPPED_UP = "wallet.topped_up", "A wallet was credited from a top-up payment"
    HOLD_VOIDED = "hold.voided", "A hold on a wallet was released"
    HOLD_EXPIRED = "hold.expired", "A hold on a wallet expired"
    JOURNAL_ENTRY_REVERSED = "journal_entry.reversed", "A ledger entry was reversed"
    EXCHANGE_RATE_SET = "exchange_rate.set", "An exchange rate was set"
    KYC_LIMIT_CREATED = "kyc_limit.created", "A KYC limit was added"
    KYC_LIMIT_UPDATED = "kyc_limit.updated", "A KYC limit changed"
