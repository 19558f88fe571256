"""Services check amounts in minor units with the one helper (core.money.require_positive): the
same codes in every service, and a refusal changes nothing."""

import pytest

from core.errors import DomainError
from core.models import AuditEvent
from payments.models import Payment, Refund
from payments.services import payment_capture, payment_create, refund_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("amount", "code"), [(0, "amount_not_positive"), (-5, "amount_not_positive"),
                                              (True, "invalid_amount"), (10**15 + 1, "invalid_amount")])
def test_each_service_refuses_the_same_amounts_with_the_same_codes(pay, actor, customer, amount, code):
    held, paid = pay(amount=5_000, capture_method="manual"), pay(amount=5_000)
    events = AuditEvent.objects.count()
    calls = [lambda: payment_create(actor=actor, customer_id=customer.id, amount=amount, currency="USD",
                                    method="card", payment_method="tok_visa"),
             lambda: payment_capture(actor=actor, payment_id=held.id, amount=amount),
             lambda: refund_create(actor=actor, payment_id=paid.id, amount=amount)]
    for call in calls:
        with pytest.raises(DomainError) as refused:
            call()
        assert (refused.value.code, refused.value.details) == (code, {"field": "amount"})
    assert Payment.objects.count() == 2 and Refund.objects.count() == 0
    assert Payment.objects.get(pk=held.id).status == "requires_capture"
    assert AuditEvent.objects.count() == events
