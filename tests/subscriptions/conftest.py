import datetime as dt

import pytest
import time_machine
from django.db import transaction

from core.context import Actor
from subscriptions import services
from tests.factories import CustomerFactory
from wallets import ledger
from wallets import services as wallet_services
from wallets.models import AccountType

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def actor():
    return Actor.system("tests")


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def make_plan(db, actor):
    def make(amount=3000, currency="USD", interval="month", interval_count=1, trial_days=0, name=None):
        return services.plan_create(actor=actor, name=name or f"Plan {amount}", amount=amount, currency=currency,
                                    interval=interval, interval_count=interval_count, trial_days=trial_days)
    return make


@pytest.fixture
def make_wallet(db, actor):
    def make(customer, currency="USD", balance=0):
        with transaction.atomic():
            wallet = wallet_services.wallet_create(actor=actor, customer_id=customer.pk, currency=currency)
            if balance:
                source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=currency,
                                               owner="provider:sandbox")
                wallet_services.wallet_credit_topup(wallet_id=wallet.pk, amount=balance, source=source, actor=actor,
                                                    reference="seed")
        return wallet
    return make


@pytest.fixture
def travel():
    """travel(moment): freeze the clock there (no ticking) until the next call or the test's end."""
    state = {}

    def go(moment):
        if "tm" in state:
            state["tm"].stop()
        state["tm"] = time_machine.travel(moment, tick=False)
        state["tm"].start()
        return moment

    yield go
    if "tm" in state:
        state["tm"].stop()
