
import pytest
from rest_framework.test import APIClient

from core.context import Actor
from payments.errors import RefundExceedsCaptured
from payments.models import Payment, Refund
from payments.services import payment_create, refund_create
from tests.concurrency import run_threads
from tests.factories import CustomerFactory
from wallets.ledger import AccountType

from .conftest import balances

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_concurrent_refunds_never_exceed_captured(roles, one_sandbox):
    actor = Actor.system("tests")
    customer = CustomerFactory()
    payment = payment_create(actor=actor, customer_id=customer.id, amount=10_000, currency="USD", method="card",
                             payment_method="tok_visa")
    assert payment.status == "succeeded"

    results = run_threads(10, lambda i: refund_create(actor=actor, payment_id=payment.id, amount=3_000,
                                                      reason="requested_by_customer"))
    ok = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if isinstance(r, RefundExceedsCaptured)]
    assert (len(ok), len(refused)) == (3, 7), results
    payment.refresh_from_db()
    assert payment.amount_refunded == 9_000
    assert sum(Refund.objects.filter(payment=payment, status="succeeded").values_list("amount", flat=True)) == 9_000
    assert balances((AccountType.PROVIDER_CLEARING, "USD", "provider:sandbox"),
                    (AccountType.MERCHANT_REVENUE, "USD", "platform")) == {
        (AccountType.PROVIDER_CLEARING, "provider:sandbox"): -1_000,
        (AccountType.MERCHANT_REVENUE, "platform"): 1_000,
    }


def test_concurrent_creates_with_one_key_make_one_payment(roles, make_key, one_sandbox):
    created = make_key("*")
    customer = CustomerFactory()
    payload = {"amount": "25.00", "currency": "USD", "customer_id": customer.id, "method": "card",
               "payment_method": "tok_visa"}

    def post(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
        response = client.post("/api/v1/payments", payload, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
        return response.status_code, response.json()

    results = run_threads(8, post)
    assert Payment.objects.count() == 1
    payment_id = Payment.objects.get().id
    for status, data in results:
        assert (status == 201 and data["id"] == payment_id) or (
            status == 409 and data["error"]["code"] == "idempotency_key_in_use"), (status, data)
    assert sum(1 for status, _ in results if status == 201) >= 1


def test_concurrent_capture_and_cancel_one_wins(roles, one_sandbox):
    from core.errors import InvalidStateTransition
    from payments.errors import PaymentNotCapturable
    from payments.services import payment_cancel, payment_capture

    actor = Actor.system("tests")
    customer = CustomerFactory()
    payment = payment_create(actor=actor, customer_id=customer.id, amount=5_000, currency="USD", method="card",
                             payment_method="tok_visa", capture_method="manual")

    def act(i):
        if i % 2:
            return payment_cancel(actor=actor, payment_id=payment.id)
        return payment_capture(actor=actor, payment_id=payment.id)

    results = run_threads(6, act)
    winners = [r for r in results if isinstance(r, Payment)]
    losers = [r for r in results if isinstance(r, PaymentNotCapturable | InvalidStateTransition)]
    assert (len(winners), len(losers)) == (1, 5), results
    payment.refresh_from_db()
    assert payment.status in ("succeeded", "canceled")
    captured = 5_000 if payment.status == "succeeded" else 0
    assert payment.amount_captured == captured
    assert balances((AccountType.PROVIDER_CLEARING, "USD", "provider:sandbox")) == {
        (AccountType.PROVIDER_CLEARING, "provider:sandbox"): -captured}


def test_concurrent_payments_count_every_outcome_in_the_shared_provider_stats_row_without_retries(roles, one_sandbox):
    """Every payment of a provider and currency adds to one provider stats row, now updated by the settlement's
    last statement, after the payment's and the accounts' locks: concurrent payments all count, none deadlocks."""
    from core.db import transaction_retried
    from payments.models import ProviderStat

    actor = Actor.system("tests")
    customer = CustomerFactory()
    retries = []

    def retried(sender, **kwargs):
        retries.append(kwargs["reason"])

    transaction_retried.connect(retried)
    try:
        results = run_threads(8, lambda i: payment_create(
            actor=actor, customer_id=customer.id, amount=1_000 + i, currency="USD", method="card",
            payment_method="tok_visa" if i % 4 else "tok_decline_generic"))
    finally:
        transaction_retried.disconnect(retried)
    assert sorted(p.status for p in results) == ["failed"] * 2 + ["succeeded"] * 6, results
    assert retries == []
    stats = ProviderStat.objects.get(provider="sandbox", currency="USD")
    assert (stats.attempts, stats.successes) == (8, 6)
    assert sorted(Payment.objects.values_list("attempts__status", flat=True)) == ["captured"] * 6 + ["declined"] * 2
    assert balances((AccountType.PROVIDER_CLEARING, "USD", "provider:sandbox")) == {
        (AccountType.PROVIDER_CLEARING, "provider:sandbox"): -sum(1_000 + i for i in range(8) if i % 4)}
