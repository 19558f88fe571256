"""Amounts are entered as the API takes them: a decimal string in major units with its currency,
cleaned by `core.forms.AmountField` through `parse_amount` (same refusals, same messages)."""

import pytest

from core.errors import DomainError
from core.money import parse_amount
from tests.adminurls import admin_url, operation_url
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


def set_limit(client, wallet, value, token):
    return client.post(operation_url(wallet, "set_wallet_daily_limit"), {
        "_operation": "set_wallet_daily_limit", "_token": f"tok-{token:0>12}", "daily_limit": value})


def test_wallet_daily_limit_is_shown_and_set_in_major_units(admin_client, make_wallet):
    wallet = make_wallet("USD", daily_limit=5_000)
    page = admin_client.get(admin_url(wallet)).content.decode()
    assert "50.00 USD" in page
    response = set_limit(admin_client, wallet, "12.50", "a")
    assert (response.status_code, response["Location"]) == (302, admin_url(wallet))
    assert Wallet.objects.get(pk=wallet.pk).daily_limit == 1250
    # The page's own form changes nothing: the limit is the operation's.
    admin_client.post(admin_url(wallet), {"daily_limit": "99.00", "_save": "Save"})
    assert Wallet.objects.get(pk=wallet.pk).daily_limit == 1250


def test_too_precise_daily_limit_is_refused_with_the_api_message(admin_client, make_wallet, api):
    wallet = make_wallet("USD", daily_limit=5_000)
    response = set_limit(admin_client, wallet, "12.505", "b")
    assert response.status_code == 200
    [message] = response.context["form"].errors["daily_limit"]
    from_api = api.post("/api/v1/wallets", {"customer_id": wallet.customer_id, "currency": "EUR",
                                            "daily_limit": "12.505"}, format="json").json()["error"]
    assert message == from_api["message"].replace("EUR", "USD") == api_message("12.505", "USD")[1]
    assert message == "USD amounts have at most 2 decimal places."
    assert Wallet.objects.get(pk=wallet.pk).daily_limit == 5_000


def test_daily_limit_in_a_zero_digit_currency_and_cleared(admin_client, make_wallet):
    wallet = make_wallet("JPY")
    refused = set_limit(admin_client, wallet, "1.5", "c")
    assert refused.context["form"].errors["daily_limit"] == ["JPY amounts have at most 0 decimal places."]
    assert Wallet.objects.get(pk=wallet.pk).daily_limit is None
    assert set_limit(admin_client, wallet, "1500", "d").status_code == 302
    assert Wallet.objects.get(pk=wallet.pk).daily_limit == 1500
    assert set_limit(admin_client, wallet, "", "e").status_code == 302
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
    form = {"action": "adjust_wallet", "_selected_action": [wallet.pk], "_operation": "adjust_wallet",
            "_token": "tok-" + "a" * 12, "amount": "-1.005", "reason": "typo"}
    refused = finance.post("/admin/wallets/wallet/", form)
    assert refused.status_code == 302
    assert [str(m) for m in refused.wsgi_request._messages] == [
        f"{wallet}: USD amounts have at most 2 decimal places. (amount_too_precise)"]
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 500
    finance.post("/admin/wallets/wallet/", {**form, "_token": "tok-" + "b" * 12, "amount": "-1.25", "reason": "fee"})
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 375
