"""Refusals carry their amounts as every door shows money (decimal strings next to `currency`)
and name wallets by their public ids, never a ledger account's row id."""

import pytest
from django.db import transaction

from wallets import ledger, services
from wallets.errors import HoldAmountExceeded, InsufficientFunds, UnbalancedEntry
from wallets.models import AccountType

pytestmark = pytest.mark.django_db


def refusal(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_transfer_beyond_the_balance(api, make_wallet):
    a, b = make_wallet("USD", balance=2_000), make_wallet("USD")
    error = refusal(api.post("/api/v1/transfers", {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "500.00",
                                                   "currency": "USD"}, format="json"), 422)
    assert error["code"] == "insufficient_funds"
    assert error["details"] == {"wallet_id": a.pk, "available": "20.00", "amount": "500.00", "currency": "USD"}


def test_withdrawal_beyond_the_balance_in_a_three_digit_currency(api, make_wallet):
    wallet = make_wallet("KWD", balance=1_500)
    error = refusal(api.post(f"/api/v1/wallets/{wallet.pk}/withdrawals", {"amount": "2.5"}, format="json"), 422)
    assert error["details"] == {"wallet_id": wallet.pk, "available": "1.500", "amount": "2.500", "currency": "KWD"}


def test_daily_limit(api, make_wallet):
    a, b = make_wallet("USD", balance=10_000, daily_limit=900), make_wallet("USD")
    assert api.post("/api/v1/transfers", {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "5.00",
                                          "currency": "USD"}, format="json").status_code == 201
    error = refusal(api.post("/api/v1/transfers", {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "4.01",
                                                   "currency": "USD"}, format="json"), 422)
    assert (error["code"], error["details"]) == ("limit_exceeded", {
        "wallet_id": a.pk, "daily_limit": "9.00", "used_today": "5.00", "amount": "4.01", "currency": "USD"})


def test_closing_a_wallet_with_money(api, make_wallet):
    wallet = make_wallet("JPY", balance=1_200)
    error = refusal(api.post(f"/api/v1/wallets/{wallet.pk}/close", {}, format="json"), 409)
    assert (error["code"], error["details"]) == ("wallet_not_empty", {
        "wallet_id": wallet.pk, "balance": "1200", "pending": "0", "currency": "JPY"})


def test_ledger_refusals_name_no_account_rows(make_wallet, actor):
    wallet = make_wallet("USD", balance=600)
    other = make_wallet("USD")
    with pytest.raises(InsufficientFunds) as refused, transaction.atomic():
        ledger.post_entry(kind="transfer", description="x", actor=actor,
                          postings=[(wallet.account, -1_000), (other.account, 1_000)])
    assert refused.value.details == {"wallet_id": wallet.pk, "available": "6.00", "amount": "10.00",
                                     "currency": "USD"}
    with pytest.raises(InsufficientFunds) as refused, transaction.atomic():
        ledger.hold_reserve(account=wallet.account, amount=700, actor=actor)
    assert refused.value.details == {"wallet_id": wallet.pk, "available": "6.00", "amount": "7.00",
                                     "currency": "USD"}
    with transaction.atomic():
        hold = ledger.hold_reserve(account=wallet.account, amount=500, actor=actor)
    revenue = ledger.system_account(account_type=AccountType.MERCHANT_REVENUE, currency="USD")
    with pytest.raises(HoldAmountExceeded) as refused, transaction.atomic():
        ledger.hold_capture(hold_id=hold.pk, amount=501, destination=revenue, actor=actor, kind="wallet_payment")
    assert refused.value.details == {"hold_id": hold.pk, "hold_amount": "5.00", "amount": "5.01",
                                     "currency": "USD"}
    with pytest.raises(UnbalancedEntry) as refused, transaction.atomic():
        ledger.post_entry(kind="transfer", description="x", actor=actor,
                          postings=[(wallet.account, -100), (other.account, 99)])
    assert refused.value.details == {"imbalance": {"USD": "-0.01"}}
    with pytest.raises(UnbalancedEntry) as refused, transaction.atomic():
        ledger.post_entry(kind="transfer", description="x", actor=actor,
                          postings=[(wallet.account, 0), (other.account, 0)])
    assert refused.value.details == {"amount": "0", "currency": "USD"}


def test_conversion_too_small_to_convert(api, make_wallet, actor):
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    usd = make_wallet("USD", balance=1_000, customer=customer)
    jpy = make_wallet("JPY", customer=customer)
    services.exchange_rate_set(actor=actor, base_currency="USD", quote_currency="JPY", rate="0.5", source="test")
    error = refusal(api.post("/api/v1/conversions", {"from_wallet_id": usd.pk, "to_wallet_id": jpy.pk,
                                                     "amount": "0.01"}, format="json"), 422)
    assert (error["code"], error["details"]) == ("amount_too_small", {"amount": "0.01", "currency": "USD",
                                                                      "rate": "0.5"})
