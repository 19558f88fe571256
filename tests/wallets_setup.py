"""Setting up funded wallets for tests: a use case of its own, so the wallet and its opening
top-up are made together or not at all."""

from core.db import use_case
from wallets import ledger, services
from wallets.models import AccountType


@use_case
def open_wallet(*, actor, customer, currency="USD", balance=0, daily_limit=None):
    wallet = services.wallet_create(actor=actor, customer_id=customer.pk, currency=currency, daily_limit=daily_limit)
    if balance:
        source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=currency,
                                       owner="provider:sandbox")
        services.wallet_credit_topup(wallet_id=wallet.pk, amount=balance, source=source, actor=actor,
                                     reference="seed")
    return wallet
