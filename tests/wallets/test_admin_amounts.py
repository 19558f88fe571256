"""Amounts are entered as the API takes them: a decimal string in major units with its currency,
cleaned by `core.forms.AmountField` through `parse_amount` (same refusals, same messages)."""

import pytest

from core.errors import DomainError
from core.money import parse_amount
from tests.adminurls import admin_url
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def api_message(value, currency, **flags):
    with pytest.raises(DomainError) as refused:
        parse_amount(value, currency, **flags)
    return refused.value.code, refused.value.message


@pytest.fixture
def admin_client(staff_client):
    return staff_client("admin")


def form_errors(response):
    return response.context["adminform"].form.errors


def test_wallet_daily_limit_is_entered_in_major_units(admin_client, make_wallet):
    wallet = make_wallet("USD", daily_limit=5_000)
    page = admin_client.get(admin_url(wallet)).content.decode()
    assert 'value="50.00"' in page
    response = admin_client.post(admin_url(wallet), {"daily_limit": "12.50", "_save": "Save"})
    assert response.status_code == 302, form_errors(response)
    assert Wallet.objects.get(pk=wallet.pk).daily_limit == 1250


def test_too_precise_daily_limit_is_refused_with_the_api_message(admin_client, make_wallet, api):
    wallet = make_wallet("USD", daily_limit=5_000)
    response = admin_client.post(admin_url(wallet), {"daily_limit": "12.505", "_save": "Save"})
    assert response.status_code == 200
    error = form_errors(response).as_data()["daily_limit"][0]
    assert (error.code, error.message) == api_message("12.505", "USD")
    from_api = api.post("/api/v1/wallets", {"customer_id": wallet.customer_id, "currency": "EUR",
                                            "daily_limit": "12.505"}, format="json").json()["error"]
    assert (error.code, error.message) == (from_api["code"], from_api["message"].replace("EUR", "USD"))
    assert (error.code, error.message) == ("amount_too_precise", "USD amounts have at most 2 decimal places.")
    assert Wallet.objects.get(pk=wallet.pk).daily_limit == 5_000


def test_daily_limit_in_a_zero_digit_currency_and_cleared(admin_client, make_wallet):
    wallet = make_wallet("JPY")
    refused = admin_client.post(admin_url(wallet), {"daily_limit": "1.5", "_save": "Save"})
    assert form_errors(refused)["daily_limit"] == ["JPY amounts have at most 0 decimal places."]
    assert admin_client.post(admin_url(wallet), {"daily_limit": "1500", "_save": "Save"}).status_code == 302
    assert Wallet.objects.get(pk=wallet.pk).daily_limit == 1500
    assert admin_client.post(admin_url(wallet), {"daily_limit": "", "_save": "Save"}).status_code == 302
    assert Wallet.objects.get(pk=wallet.pk).daily_limit is None


def test_new_wallet_takes_the_limit_in_the_chosen_currency(admin_client):
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    refused = admin_client.post("/admin/wallets/wallet/add/", {"customer": customer.pk, "currency": "KWD",
                                                               "daily_limit": "1.0005"})
    assert form_errors(refused)["daily_limit"] == ["KWD amounts have at most 3 decimal places."]
    assert not Wallet.objects.exists()
    done = admin_client.post("/admin/wallets/wallet/add/", {"customer": customer.pk, "currency": "KWD",
                                                            "daily_limit": "1.005"})
    assert done.status_code == 302, form_errors(done)
    assert (Wallet.objects.get().currency, Wallet.objects.get().daily_limit) == ("KWD", 1005)


def test_wallet_adjust_action_takes_major_units_and_refuses_like_the_api(staff_client, make_wallet):
    from wallets.models import LedgerAccount

    wallet = make_wallet("USD", balance=500)
    finance = staff_client("finance")
    refused = finance.post("/admin/wallets/wallet/", {"action": "adjust", "_selected_action": [wallet.pk],
                                                      "apply": "1", "amount": "-1.005", "reason": "typo"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["amount"] == ["USD amounts have at most 2 decimal places."]
    assert "USD" in refused.content.decode()
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 500
    finance.post("/admin/wallets/wallet/", {"action": "adjust", "_selected_action": [wallet.pk], "apply": "1",
                                            "amount": "-1.25", "reason": "fee"})
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 375
