import pytest
from django.db import transaction

from wallets import ledger
from wallets.models import AccountType


@pytest.fixture
def clearing(db):
    def get(currency="USD"):
        with transaction.atomic():
            return ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=currency,
                                         owner="provider:sandbox")

    return get
