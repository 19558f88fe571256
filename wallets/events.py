"""Event types of wallets and their money movements (declared once; see core.events)."""

from django.db import models

from core.events import declare_events, declare_object
from core.operations import get_operation

from .models import JournalEntry, Wallet


@declare_events(scope="wallets:read", permission="wallets.view_wallet")
class WalletsEvent(models.TextChoices):
    WALLET_CREATED = "wallet.created", "A wallet was opened"
    WALLET_FROZEN = "wallet.frozen", "A wallet was frozen"
    WALLET_UNFROZEN = "wallet.unfrozen", "A wallet was unfrozen"
    WALLET_CLOSED = "wallet.closed", "A wallet was closed"
    WALLET_UPDATED = "wallet.updated", "A wallet's settings changed (its daily limit)"
    WALLET_ADJUSTED = "wallet.adjusted", "Staff credited or debited a wallet by hand"
    TRANSFER_CREATED = "wallet.transfer.created", "Money moved between two wallets"
    CONVERSION_CREATED = "wallet.conversion.created", "Money was converted between two wallets' currencies"
    TOP_UP_SUCCEEDED = "wallet.top_up.succeeded", "A wallet was topped up by a successful payment"
    WITHDRAWAL_CREATED = "wallet.withdrawal.created", "Money left a wallet for payout"


def _wallet(wallet: Wallet):
    from .selectors import wallet_get

    # As get_wallet_balance answers: fetched again, so the balances are those of this transaction.
    return get_operation("get_wallet_balance").render(wallet_get(wallet_id=wallet.pk))


def _entry(entry: JournalEntry):
    from .operations import entry_view

    return get_operation("transfer_funds").render(entry_view(entry))


declare_object(Wallet, _wallet)
declare_object(JournalEntry, _entry)
