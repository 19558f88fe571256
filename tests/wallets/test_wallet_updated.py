"""A wallet's `updated` moves when its balance (or what is available of it) does, in the same
transaction as the posting, whichever door or service moved the money."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import transaction

from core import clock
from tests.adminurls import admin_url
from wallets import ledger, services
from wallets.models import AccountType, Wallet

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def at(minutes):
    return time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False)


@pytest.fixture
def wallets(make_wallet):
    with at(0):
        return make_wallet("USD"), make_wallet("USD")


def rest_updated(api, wallet):
    return api.get(f"/api/v1/wallets/{wallet.pk}").json()["updated"]


def test_top_up_and_transfer_move_updated(api, wallets, actor):
    payer, payee = wallets
    assert rest_updated(api, payer) == "2026-03-01T09:00:00Z"
    with at(5):
        source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                       owner="provider:sandbox")
        services.wallet_credit_topup(wallet_id=payer.pk, amount=1_000, source=source, actor=actor, reference="t")
    assert rest_updated(api, payer) == "2026-03-01T09:05:00Z"
    assert rest_updated(api, payee) == "2026-03-01T09:00:00Z"
    with at(9):
        response = api.post("/api/v1/transfers", {"from_wallet_id": payer.pk, "to_wallet_id": payee.pk,
                                                  "amount": "2.50", "currency": "USD"}, format="json")
    assert response.status_code == 201, response.content
    assert (rest_updated(api, payer), rest_updated(api, payee)) == ("2026-03-01T09:09:00Z", "2026-03-01T09:09:00Z")


def test_hold_and_its_capture_move_updated(wallets, actor):
    wallet = wallets[0]
    with at(1):
        source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                       owner="provider:sandbox")
        services.wallet_credit_topup(wallet_id=wallet.pk, amount=1_000, source=source, actor=actor, reference="t")
    with at(2), transaction.atomic():
        hold = ledger.hold_reserve(account=Wallet.objects.get(pk=wallet.pk).account, amount=400, actor=actor)
    assert Wallet.objects.select_related("account").get(pk=wallet.pk).last_changed == START + dt.timedelta(minutes=2)
    with at(3), transaction.atomic():
        revenue = ledger.system_account(account_type=AccountType.MERCHANT_REVENUE, currency="USD")
        ledger.hold_capture(hold_id=hold.pk, amount=300, destination=revenue, actor=actor, kind="wallet_payment")
    assert Wallet.objects.select_related("account").get(pk=wallet.pk).last_changed == START + dt.timedelta(minutes=3)


def test_wallet_page_shows_when_the_balance_last_changed(staff_client, wallets, actor):
    wallet = wallets[0]
    with time_machine.travel(dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC), tick=False):
        assert clock.now().day == 2
        source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                       owner="provider:sandbox")
        services.wallet_credit_topup(wallet_id=wallet.pk, amount=1_000, source=source, actor=actor, reference="t")
    page = staff_client("support").get(admin_url(wallet)).content.decode()
    shown = re.search(r'<label>Updated:</label>\s*<div class="readonly">([^<]*)</div>', page)
    assert shown is not None and shown.group(1) == "March 2, 2026, 2:30 p.m."
