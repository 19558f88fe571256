"""Payment refusals carry their amounts as every door shows money: decimal strings with the
currency's digits next to `currency` (REST and MCP alike)."""

import pytest

from payments.models import Refund
from wallets import services as wallet_services

pytestmark = pytest.mark.django_db


def error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_capture_beyond_the_authorised_amount(api, pay):
    held = pay(amount=8_700, capture_method="manual")
    refused = error(api.post(f"/api/v1/payments/{held.id}/capture", {"amount": "87.01"}, format="json"), 422)
    assert (refused["code"], refused["details"]) == ("capture_exceeds_authorised", {
        "amount_capturable": "87.00", "amount": "87.01", "currency": "USD"})


def test_refund_beyond_what_is_left(api, pay):
    paid = pay(amount=5_000)
    assert api.post(f"/api/v1/payments/{paid.id}/refunds", {"amount": "10.50"}, format="json").status_code == 201
    refused = error(api.post(f"/api/v1/payments/{paid.id}/refunds", {"amount": "39.51"}, format="json"), 422)
    assert (refused["code"], refused["details"]) == ("refund_exceeds_captured", {
        "amount_refundable": "39.50", "requested": "39.51", "currency": "USD"})
    assert api.post(f"/api/v1/payments/{paid.id}/refunds", {}, format="json").status_code == 201
    again = error(api.post(f"/api/v1/payments/{paid.id}/refunds", {}, format="json"), 409)
    assert (again["code"], again["details"]) == ("payment_not_refundable", {
        "status": "succeeded", "amount_refunded": "50.00", "currency": "USD"})
    assert Refund.objects.count() == 2


def test_refund_of_a_top_up_already_spent(api, customer, one_sandbox, actor):
    wallet = wallet_services.wallet_create(actor=actor, customer_id=customer.id, currency="EUR")
    top_up = api.post(f"/api/v1/wallets/{wallet.pk}/top-ups", {"amount": "30.00", "payment_method": "tok_visa"},
                      format="json").json()
    assert top_up["status"] == "succeeded", top_up
    wallet_services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=2_500, provider="sandbox")
    refused = error(api.post(f"/api/v1/payments/{top_up['id']}/refunds", {}, format="json"), 422)
    assert (refused["code"], refused["details"]) == ("insufficient_funds", {
        "wallet_id": wallet.pk, "available": "5.00", "amount": "30.00", "currency": "EUR"})
