import pytest

from core.errors import InvalidStateTransition, NotFound
from payments.errors import CaptureExceedsAuthorised, PaymentNotCapturable, PaymentNotRefundable, RefundExceedsCaptured
from payments.models import Payment, PaymentAttempt, Refund
from payments.services import payment_cancel, payment_capture, refund_create
from payments.services.reconciliation import mismatch_resolve
from payments.services.webhooks import webhook_apply
from wallets.ledger import AccountType

from .conftest import balances

pytestmark = pytest.mark.django_db

CLEARING = (AccountType.PROVIDER_CLEARING, "USD", "provider:sandbox")
REVENUE = (AccountType.MERCHANT_REVENUE, "USD", "platform")
FEES = (AccountType.FEES, "USD", "platform")


def test_automatic_capture_succeeds_and_posts_capture_with_fee(pay, fees):
    payment = pay(amount=10_000)
    assert payment.status == "succeeded"
    assert (payment.amount_captured, payment.amount_capturable, payment.amount_refunded) == (10_000, 0, 0)
    assert payment.provider == "sandbox" and payment.provider_reference.startswith("sbx_att_")
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    # 2.90% of 100.00 = 2.90, plus 0.30 fixed.
    assert payment.fee_amount == 320
    assert balances(CLEARING, REVENUE, FEES) == {
        (AccountType.PROVIDER_CLEARING, "provider:sandbox"): -10_000,
        (AccountType.MERCHANT_REVENUE, "platform"): 9_680,
        (AccountType.FEES, "platform"): 320,
    }
    attempt = payment.attempts.get()
    assert attempt.status == PaymentAttempt.Status.CAPTURED
    assert attempt.reason["strategy"] == "only_candidate"


@pytest.mark.parametrize(("token", "code"), [
    ("tok_decline_generic", "card_declined"),
    ("tok_decline_insufficient_funds", "insufficient_funds"),
    ("tok_decline_expired", "expired_card"),
])
def test_declines_are_failed_payments_without_postings(pay, token, code):
    payment = pay(token=token)
    assert payment.status == "failed"
    assert payment.failure_code == code
    assert payment.amount_captured == 0
    assert payment.attempts.get().decline_code == code
    assert balances(CLEARING) == {(AccountType.PROVIDER_CLEARING, "provider:sandbox"): 0}


def test_manual_capture_partial_releases_rest(pay):
    payment = pay(amount=5_000, capture_method="manual")
    assert payment.status == "requires_capture"
    assert payment.amount_capturable == 5_000
    assert balances(CLEARING) == {(AccountType.PROVIDER_CLEARING, "provider:sandbox"): 0}
    captured = payment_capture(actor=payment_actor(), payment_id=payment.id, amount=3_000)
    assert captured.status == "succeeded"
    assert (captured.amount_captured, captured.amount_capturable) == (3_000, 0)
    assert balances(CLEARING, REVENUE) == {
        (AccountType.PROVIDER_CLEARING, "provider:sandbox"): -3_000,
        (AccountType.MERCHANT_REVENUE, "platform"): 3_000,
    }


def payment_actor():
    from core.context import Actor
    return Actor.system("tests")


def test_capture_more_than_authorised_is_refused_and_changes_nothing(pay):
    payment = pay(amount=5_000, capture_method="manual")
    with pytest.raises(CaptureExceedsAuthorised):
        payment_capture(actor=payment_actor(), payment_id=payment.id, amount=5_001)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_capturable, payment.amount_captured) == ("requires_capture", 5_000, 0)


@pytest.mark.parametrize("status_maker", ["succeeded", "failed", "canceled"])
def test_capture_only_from_requires_capture(pay, status_maker):
    if status_maker == "succeeded":
        payment = pay()
    elif status_maker == "failed":
        payment = pay(token="tok_decline_generic")
    else:
        payment = pay(capture_method="manual")
        payment_cancel(actor=payment_actor(), payment_id=payment.id)
    with pytest.raises(PaymentNotCapturable):
        payment_capture(actor=payment_actor(), payment_id=payment.id)
    assert Payment.objects.get(pk=payment.id).status == status_maker


def test_cancel_releases_authorisation(pay):
    payment = pay(capture_method="manual")
    canceled = payment_cancel(actor=payment_actor(), payment_id=payment.id)
    assert (canceled.status, canceled.amount_capturable, canceled.cancellation_reason) == ("canceled", 0, "requested")
    from payments.models_sandbox import SandboxCharge
    assert SandboxCharge.objects.get(reference=payment.provider_reference).status == "canceled"


@pytest.mark.parametrize("kind", ["succeeded", "failed", "canceled"])
def test_cancel_refused_after_final_states(pay, kind):
    payment = {"succeeded": lambda: pay(), "failed": lambda: pay(token="tok_decline_expired"),
               "canceled": lambda: payment_cancel(actor=payment_actor(), payment_id=pay(capture_method="manual").id)
               }[kind]()
    with pytest.raises(InvalidStateTransition):
        payment_cancel(actor=payment_actor(), payment_id=payment.id)
    assert Payment.objects.get(pk=payment.id).status == kind


def test_partial_and_full_refunds_reverse_the_capture(pay, fees):
    payment = pay(amount=10_000)
    first = refund_create(actor=payment_actor(), payment_id=payment.id, amount=2_500, reason="requested_by_customer")
    assert (first.status, first.amount, first.fee_returned) == ("succeeded", 2_500, 80)
    second = refund_create(actor=payment_actor(), payment_id=payment.id, amount=None, reason="duplicate")
    assert (second.status, second.amount, second.fee_returned) == ("succeeded", 7_500, 240)
    payment.refresh_from_db()
    assert (payment.amount_refunded, payment.fee_refunded) == (10_000, 320)
    assert balances(CLEARING, REVENUE, FEES) == {
        (AccountType.PROVIDER_CLEARING, "provider:sandbox"): 0,
        (AccountType.MERCHANT_REVENUE, "platform"): 0,
        (AccountType.FEES, "platform"): 0,
    }
    with pytest.raises(PaymentNotRefundable):
        refund_create(actor=payment_actor(), payment_id=payment.id, amount=1, reason="other")
    assert Refund.objects.filter(payment=payment).count() == 2


def test_refund_above_remaining_is_refused(pay):
    payment = pay(amount=1_000)
    refund_create(actor=payment_actor(), payment_id=payment.id, amount=600, reason="other")
    with pytest.raises(RefundExceedsCaptured):
        refund_create(actor=payment_actor(), payment_id=payment.id, amount=401, reason="other")
    payment.refresh_from_db()
    assert payment.amount_refunded == 600
    assert payment.refunds.count() == 1


@pytest.mark.parametrize("kind", ["failed", "requires_capture", "canceled"])
def test_refund_refused_unless_captured(pay, kind):
    payment = {"failed": lambda: pay(token="tok_decline_generic"),
               "requires_capture": lambda: pay(capture_method="manual"),
               "canceled": lambda: payment_cancel(actor=payment_actor(), payment_id=pay(capture_method="manual").id)
               }[kind]()
    with pytest.raises(PaymentNotRefundable):
        refund_create(actor=payment_actor(), payment_id=payment.id, amount=None, reason="other")
    assert Refund.objects.count() == 0


@pytest.mark.parametrize("call, field, message, good_prefix", [
    (lambda actor, i: payment_capture(actor=actor, payment_id=i), "payment_id", "No such payment.", "pay"),
    (lambda actor, i: mismatch_resolve(actor=actor, mismatch_id=i, note="x"), "mismatch_id", "No such mismatch.",
     "rcm"),
    (lambda actor, i: webhook_apply(actor=actor, event_id=i), "event_id", "No such webhook event.", "evt"),
])
def test_unknown_ids_are_not_found_naming_the_field(actor, call, field, message, good_prefix):
    for object_id in (f"{good_prefix}_doesnotexist", "cus_wrongprefix"):
        with pytest.raises(NotFound) as refused:
            call(actor, object_id)
        assert (refused.value.message, refused.value.details) == (message, {field: object_id})
