"""Amounts are entered as the API takes them: a decimal string in major units with its currency,
cleaned by `core.forms.AmountField` through `parse_amount` (same refusals, same messages)."""

import pytest

from core.errors import DomainError
from core.money import parse_amount
from payments.models import FeeSchedule
from tests.adminurls import admin_url

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


def test_fee_schedule_fixed_amount_is_major_units(admin_client):
    response = admin_client.post("/admin/payments/feeschedule/add/", {
        "provider": "sandbox", "currency": "USD", "percent_bps": 290, "fixed_amount": "0.30", "active": "on"})
    assert response.status_code == 302, form_errors(response)
    fee = FeeSchedule.objects.get()
    assert (fee.fixed_amount, str(fee)) == (30, "sandbox USD 2.90% + 0.30 USD")
    page = admin_client.get(admin_url(fee)).content.decode()
    assert 'value="0.30"' in page
    refused = admin_client.post("/admin/payments/feeschedule/add/", {
        "provider": "other", "currency": "EUR", "percent_bps": 0, "fixed_amount": "abc", "active": "on"})
    assert form_errors(refused)["fixed_amount"] == [api_message("abc", "EUR")[1]]
    assert FeeSchedule.objects.count() == 1


def test_payment_refund_action_in_another_currency_is_refused(staff_client, pay):
    from payments.models import Refund

    paid = pay(amount=5_000)
    client = staff_client("operator")

    def refund(amount, currency):
        response = client.post("/admin/payments/payment/", {
            "action": "refund", "_selected_action": [paid.id], "amount": amount, "currency": currency,
            "reason": "requested_by_customer"}, follow=True)
        return [str(m) for m in response.context["messages"]]

    assert refund("10.00", "EUR") == [f"{paid}: The amount is in EUR; this payment is in USD. (currency_mismatch)"]
    assert refund("10.001", "") == [f"{paid}: USD amounts have at most 2 decimal places. (amount_too_precise)"]
    assert not Refund.objects.exists()
    assert refund("10.00", "usd") == ["Refunded: 1 done."]
    assert Refund.objects.get().amount == 1_000
