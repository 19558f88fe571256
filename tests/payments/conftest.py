import pytest

from core.db import run_in_transaction
from payments import routing
from payments.models import FeeSchedule
from payments.services import payment_create


@pytest.fixture
def fees(db):
    from core import clock

    now = clock.now()
    return FeeSchedule.objects.create(provider="sandbox", currency="USD", percent_bps=290, fixed_amount=30,
                                      created=now, updated=now)


@pytest.fixture
def pay(actor, customer, one_sandbox):
    def make(amount=10_000, currency="USD", token="tok_visa", capture_method="automatic", **kwargs):
        kwargs.setdefault("customer_id", customer.id)
        return payment_create(actor=actor, amount=amount, currency=currency, method=kwargs.pop("method", "card"),
                              payment_method=token, capture_method=capture_method, **kwargs)
    return make


@pytest.fixture
def seeded_routing():
    routing.rng.seed(12345)
    yield routing.rng


def balances(*pairs):
    """{(type, owner): balance} for the given (account_type, currency, owner) triples."""
    from wallets import ledger

    def read():
        out = {}
        for account_type, currency, owner in pairs:
            account = ledger.system_account(account_type=account_type, currency=currency, owner=owner)
            out[(account_type, owner)] = ledger.account_balance(account)
        return out
    return run_in_transaction(read)
