import datetime as dt

import pytest
import time_machine

from core import clock
from core.errors import InvalidStateTransition
from payments.errors import PaymentNotCapturable, PaymentNotRefundable
from payments.models import Payment
from payments.services import (
    payment_cancel,
    payment_capture,
    payment_expire_authorisations,
    payment_settle_unknown,
    payment_verify,
    refund_create,
)

pytestmark = pytest.mark.django_db


def test_timeout_is_unknown_then_verify_settles_as_succeeded_once(pay, actor, fees):
    payment = pay(amount=2_000, token="tok_timeout")
    assert payment.status == "unknown" and payment.amount_captured == 0
    with pytest.raises(PaymentNotCapturable):
        payment_capture(actor=actor, payment_id=payment.id)
    with pytest.raises(InvalidStateTransition):
        payment_cancel(actor=actor, payment_id=payment.id)
    with pytest.raises(PaymentNotRefundable):
        refund_create(actor=actor, payment_id=payment.id, amount=None, reason="other")
    settled = payment_verify(actor=actor, payment_id=payment.id)
    assert (settled.status, settled.amount_captured, settled.fee_amount) == ("succeeded", 2_000, 88)
    assert settled.attempts.get().status == "captured"
    again = payment_verify(actor=actor, payment_id=payment.id)
    assert (again.status, again.amount_captured, again.capture_entry_id) == ("succeeded", 2_000,
                                                                             settled.capture_entry_id)
    from wallets.models import JournalEntry
    assert JournalEntry.objects.filter(kind="payment_capture").count() == 1


def test_manual_timeout_settles_as_requires_capture(pay, actor):
    payment = pay(amount=2_000, token="tok_timeout", capture_method="manual")
    settled = payment_verify(actor=actor, payment_id=payment.id)
    assert (settled.status, settled.amount_capturable) == ("requires_capture", 2_000)


def test_settle_unknown_job(pay, actor):
    unknown = pay(amount=700, token="tok_timeout")
    fine = pay(amount=700)
    with time_machine.travel(clock.now() + dt.timedelta(minutes=5)):
        assert payment_settle_unknown(actor=actor) == 1
    assert Payment.objects.get(pk=unknown.id).status == "succeeded"
    assert Payment.objects.get(pk=fine.id).status == "succeeded"


def test_authorisations_expire_after_seven_days(pay, actor):
    old = pay(capture_method="manual")
    with time_machine.travel(clock.now() + dt.timedelta(days=6, hours=23)):
        assert payment_expire_authorisations(actor=actor) == 0
        recent = pay(capture_method="manual")
    with time_machine.travel(clock.now() + dt.timedelta(days=7, minutes=1)):
        assert payment_expire_authorisations(actor=actor) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, old.cancellation_reason, old.amount_capturable) == ("canceled", "expired", 0)
    assert recent.status == "requires_capture"


def test_verify_settles_unknown_as_failed_when_the_provider_has_no_record(pay, actor):
    from payments.models_sandbox import SandboxCharge

    payment = pay(amount=2_000, token="tok_timeout")
    SandboxCharge.objects.filter(reference__endswith=payment.attempts.get().id).delete()
    settled = payment_verify(actor=actor, payment_id=payment.id)
    assert (settled.status, settled.failure_code, settled.amount_captured) == ("failed", "provider_no_record", 0)
    assert settled.attempts.get().status == "declined"


def test_verify_of_a_final_payment_changes_nothing(pay, actor):
    payment = pay(amount=2_000)
    before = Payment.objects.values().get(pk=payment.id)
    after = payment_verify(actor=actor, payment_id=payment.id)
    assert after.status == "succeeded"
    assert Payment.objects.values().get(pk=payment.id) == before


def test_review_only_while_pending(pay, actor):
    from payments.services import payment_review

    payment = pay(amount=2_000, capture_method="manual")
    with pytest.raises(InvalidStateTransition):
        payment_review(actor=actor, payment_id=payment.id, decision="approve")
    assert Payment.objects.get(pk=payment.id).status == "requires_capture"


def test_bank_transfer_is_processing_until_the_money_arrives(pay, actor):
    payment = pay(amount=5_000, token="tok_bank_transfer", method="bank_transfer")
    assert (payment.status, payment.amount_captured, payment.card_last4) == ("processing", 0, "")
    with pytest.raises(PaymentNotRefundable):
        refund_create(actor=actor, payment_id=payment.id, amount=None, reason="other")
    with time_machine.travel(clock.now() + dt.timedelta(minutes=5)):
        assert payment_settle_unknown(actor=actor) == 1
    settled = Payment.objects.get(pk=payment.id)
    assert (settled.status, settled.amount_captured) == ("succeeded", 5_000)
