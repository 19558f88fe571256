import pytest
from django.db import transaction

from core.context import Actor
from core.db import use_case
from tests.factories import CustomerFactory
from wallets import ledger, services
from wallets.models import AccountType


@pytest.fixture
def actor():
    return Actor.system("tests")


@use_case
def open_wallet(*, actor, customer, currency="USD", balance=0, daily_limit=None):
    """A wallet and its opening top-up from the sandbox clearing account, both or neither."""
    wallet = services.wallet_create(actor=actor, customer_id=customer.pk, currency=currency, daily_limit=daily_limit)
    if balance:
        source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=currency,
                                       owner="provider:sandbox")
        services.wallet_credit_topup(wallet_id=wallet.pk, amount=balance, source=source, actor=actor,
                                     reference="seed")
    return wallet


@pytest.fixture
def make_wallet(db, actor):
    def make(currency="USD", balance=0, customer=None, daily_limit=None):
        wallet = open_wallet(actor=actor, customer=customer or CustomerFactory(), currency=currency,
                             balance=balance, daily_limit=daily_limit)
        wallet.refresh_from_db()
        wallet.account.refresh_from_db()
        return wallet

    return make


@pytest.fixture
def clearing(db):
    def get(currency="USD"):
        with transaction.atomic():
            return ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=currency,
                                         owner="provider:sandbox")

    return get
