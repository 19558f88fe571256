"""The payment, refund and transfer-entry objects, rendered by `core.output.OutputSerializer`'s plan, are what DRF's
own `Serializer.to_representation` renders: the same keys in the same order, the same values."""

import pytest
from rest_framework import serializers

from core.output import OutputSerializer
from payments.serializers import PaymentSerializer, RefundSerializer
from payments.services import refund_create
from wallets.operations import entry_view
from wallets.serializers import EntrySerializer
from wallets.services import wallet_transfer

from ..factories import CustomerFactory
from ..wallets_setup import open_wallet

pytestmark = pytest.mark.django_db


def _drf(serializer, instance):
    return list(serializers.Serializer.to_representation(serializer, instance).items())


def _ours(serializer, instance):
    """The plan's rendering, before PaymentSerializer's own touches (which both paths share)."""
    return list(OutputSerializer.to_representation(serializer, instance).items())


def test_payments_refunds_and_transfer_entries_render_as_drf_renders_them(pay, fees, actor, customer):
    # The serializers of the objects every write renders render by the plan.
    assert all(issubclass(cls, OutputSerializer) for cls in (PaymentSerializer, RefundSerializer, EntrySerializer))
    payments = [pay(amount=10_000), pay(amount=2_500, capture_method="manual"),
                pay(amount=700, token="tok_decline_generic"), pay(amount=1_234, currency="EUR", metadata={"k": "v"})]
    assert [p.status for p in payments] == ["succeeded", "requires_capture", "failed", "succeeded"]
    serializer = PaymentSerializer()
    for payment in payments:
        assert _ours(serializer, payment) == _drf(serializer, payment)
    refund = refund_create(actor=actor, payment_id=payments[0].pk, amount=1_000)
    assert _ours(RefundSerializer(), refund) == _drf(RefundSerializer(), refund)
    source = open_wallet(actor=actor, customer=customer, balance=5_000)
    target = open_wallet(actor=actor, customer=CustomerFactory())
    entry = entry_view(wallet_transfer(actor=actor, from_wallet_id=source.pk, to_wallet_id=target.pk, amount=1_999,
                                       currency="USD"))
    rendered = EntrySerializer().to_representation(entry)
    assert list(rendered.items()) == _drf(EntrySerializer(), entry)
    assert (rendered["amount"], rendered["from_wallet_id"], rendered["to_amount"]) == ("19.99", source.pk, None)
