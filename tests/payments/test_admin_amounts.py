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


def test_payment_refund_takes_the_amount_in_the_payments_own_currency(staff_client, pay):
    from django.contrib.admin.utils import quote
    from django.urls import reverse

    from payments.models import Refund

    paid = pay(amount=5_000)
    client = staff_client("operator")
    url = reverse("admin:payments_payment_operation", args=[quote(paid.pk), "refund_payment"])
    page = client.get(url).content.decode()
    # No currency to choose: the amount input names the payment's own.
    assert '<span class="bo-currency">USD</span>' in page and 'name="currency"' not in page

    def refund(amount, token):
        response = client.post(url, {"_operation": "refund_payment", "_token": token, "amount": amount,
                                     "reason": "requested_by_customer", "_confirm": "yes"}, follow=True)
        return response

    refused = refund("10.001", "tok-refund-1")
    assert refused.context["form"].errors["amount"] == [api_message("10.001", "USD")[1]]
    assert not Refund.objects.exists()
    done = refund("10.00", "tok-refund-2")
    assert [str(m) for m in done.context["messages"]] == ["Refund: 1 done."]
    assert Refund.objects.get().amount == 1_000
