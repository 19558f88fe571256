"""The demo's error log: each payment a real sandbox timeout left unknown, reported once (idempotent)."""

import io
import random

import pytest

from monitoring import demo_errors as demo
from monitoring.models import ErrorGroup
from payments.models import Payment
from payments.services import payment_create

pytestmark = pytest.mark.django_db


def test_demo_reports_the_payments_left_unknown_by_provider_timeouts(actor, customer, one_sandbox):
    unknown = [payment_create(actor=actor, customer_id=customer.id, method="card", payment_method="tok_timeout",
                              amount=amount, currency="USD") for amount in (1_000, 2_000)]
    payment_create(actor=actor, customer_id=customer.id, method="card", payment_method="tok_visa", amount=500,
                   currency="USD")
    assert [p.status for p in unknown] == [Payment.Status.UNKNOWN, Payment.Status.UNKNOWN]
    demo.seed(rng=random.Random(1), stdout=io.StringIO())
    demo.seed(rng=random.Random(1), stdout=io.StringIO())  # a second run adds nothing
    group = ErrorGroup.objects.get()
    last = max(unknown, key=lambda p: (p.updated, p.pk))
    assert (group.count, group.level, group.source, group.kind) == (2, "warning", "payments.reconciliation", "message")
    assert group.sample_details == {"payment_id": last.pk, "provider": last.provider, "currency": "USD"}
