import pytest

from payments.models import Payment
from payments.services import payment_cancel, payment_capture, payment_create, refund_create
from wallets import ledger
from wallets.ledger import AccountType
from wallets.models import Hold
from wallets.services import wallet_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(actor, customer):
    return wallet_create(actor=actor, customer_id=customer.id, currency="USD")


def available(wallet):
    return ledger.account_available(wallet.account)


def balance(wallet):
    return ledger.account_balance(wallet.account)


def clearing():
    return ledger.account_balance(ledger.system_account(
        account_type=AccountType.PROVIDER_CLEARING, currency="USD", owner="provider:sandbox"))


def test_top_up_credits_wallet_and_refund_debits_it(api, wallet, one_sandbox, actor):
    response = api.post(f"/api/v1/wallets/{wallet.id}/top-ups", {"amount": "50.00", "payment_method": "tok_visa"},
                        format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["status"], data["amount_captured"], data["customer_id"]) == ("succeeded", "50.00",
                                                                             wallet.customer_id)
    assert (balance(wallet), clearing()) == (5_000, -5_000)
    refund = refund_create(actor=actor, payment_id=data["id"], amount=2_000, reason="requested_by_customer")
    assert refund.status == "succeeded"
    assert (balance(wallet), clearing()) == (3_000, -3_000)
    spend = payment_create(actor=actor, customer_id=wallet.customer_id, amount=2_500, currency="USD",
                           method="wallet", payment_method=wallet.id)
    assert spend.status == "succeeded"
    from wallets.errors import InsufficientFunds
    with pytest.raises(InsufficientFunds):
        refund_create(actor=actor, payment_id=data["id"], amount=1_000, reason="other")
    assert Payment.objects.get(pk=data["id"]).amount_refunded == 2_000
    assert balance(wallet) == 500


def test_declined_top_up_credits_nothing(api, wallet, one_sandbox):
    response = api.post(f"/api/v1/wallets/{wallet.id}/top-ups",
                        {"amount": "50.00", "payment_method": "tok_decline_generic"}, format="json")
    assert (response.status_code, response.json()["status"]) == (201, "failed")
    assert balance(wallet) == 0
    missing = api.post("/api/v1/wallets/wal_nope/top-ups", {"amount": "5", "payment_method": "tok_visa"},
                       format="json")
    assert missing.status_code == 404


def test_wallet_payment_holds_captures_and_refunds(actor, customer, wallet, one_sandbox):
    payment_create(actor=actor, customer_id=customer.id, amount=10_000, currency="USD", method="card",
                   payment_method="tok_visa", wallet_id=wallet.id)
    manual = payment_create(actor=actor, customer_id=customer.id, amount=4_000, currency="USD", method="wallet",
                            payment_method=wallet.id, capture_method="manual")
    assert (manual.status, manual.provider) == ("requires_capture", "wallet")
    assert (balance(wallet), available(wallet)) == (10_000, 6_000)
    captured = payment_capture(actor=actor, payment_id=manual.id, amount=2_500)
    assert (captured.status, captured.amount_captured) == ("succeeded", 2_500)
    assert (balance(wallet), available(wallet)) == (7_500, 7_500)
    refund = refund_create(actor=actor, payment_id=manual.id, amount=None, reason="other")
    assert (refund.status, refund.amount) == ("succeeded", 2_500)
    assert balance(wallet) == 10_000
    to_cancel = payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="USD", method="wallet",
                               payment_method=wallet.id, capture_method="manual")
    payment_cancel(actor=actor, payment_id=to_cancel.id)
    assert Hold.objects.get(pk=Payment.objects.get(pk=to_cancel.id).hold_id).status != "pending"
    assert available(wallet) == 10_000


def test_wallet_payment_without_funds_is_a_decline(actor, customer, wallet):
    payment = payment_create(actor=actor, customer_id=customer.id, amount=1, currency="USD", method="wallet",
                             payment_method=wallet.id)
    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert payment.hold_id == ""
