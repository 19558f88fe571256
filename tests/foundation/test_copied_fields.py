"""core.serializers.with_copied_fields: an input serializer validates exactly as DRF's own fields would, each
instance with fields of its own, while the fields are copied from the class's first ones."""

import pytest
from rest_framework import serializers

from core.serializers import _PROTOTYPES, with_copied_fields
from payments.serializers import PaymentCreateInput

GOOD = {"amount": "10.50", "currency": "usd", "customer_id": "cus_x", "payment_method": "tok_visa",
        "metadata": {"order": "42"}, "ip_address": "192.0.2.1", "channel": "web"}
BAD = {"amount": "10.50", "currency": "usd", "customer_id": "cus_x", "payment_method": "x" * 65,
       "metadata": {"order": {"nested": True}}, "ip_address": "not an ip", "channel": "fax", "method": 3}


def _drf(data):
    serializer = PaymentCreateInput(data=data)
    return serializer.is_valid(), dict(serializer.validated_data) if serializer.is_valid() else serializer.errors


def _copied(data):
    serializer = with_copied_fields(PaymentCreateInput(data=data))
    return serializer.is_valid(), dict(serializer.validated_data) if serializer.is_valid() else serializer.errors


@pytest.mark.parametrize("data", [GOOD, BAD, {}, {**GOOD, "metadata": {"k" * 41: "v"}}])
def test_validation_is_drfs_own_call_after_call(data):
    expected = _drf(data)
    for _ in range(3):  # the first call makes the prototype, the next ones copy it
        assert _copied(data) == expected
    assert expected[0] == (data is GOOD)


def test_each_instance_has_its_own_fields_bound_to_it():
    first, second = with_copied_fields(PaymentCreateInput(data=GOOD)), with_copied_fields(PaymentCreateInput(data=BAD))
    prototype = _PROTOTYPES[PaymentCreateInput]
    for name in ("amount", "metadata", "channel"):
        mine, theirs = first.fields[name], second.fields[name]
        assert mine is not theirs and mine is not prototype[name]
        assert (mine.parent, theirs.parent, mine.field_name) == (first, second, name)
    # A dict's value field is copied with it and bound to its own dict field.
    assert first.fields["metadata"].child is not second.fields["metadata"].child
    assert first.fields["metadata"].child.parent is first.fields["metadata"]


class _Nested(serializers.Serializer):
    inner = PaymentCreateInput()


class _OwnFields(serializers.Serializer):
    def get_fields(self):
        return {"value": serializers.IntegerField(max_value=self.context.get("max", 10))}


def test_nested_serializers_and_own_get_fields_keep_drfs_way():
    nested = with_copied_fields(_Nested(data={"inner": GOOD}))
    assert nested.is_valid(), nested.errors
    assert _PROTOTYPES[_Nested] is None
    small = with_copied_fields(_OwnFields(data={"value": 7}, context={"max": 5}))
    large = with_copied_fields(_OwnFields(data={"value": 7}, context={"max": 50}))
    assert (small.is_valid(), large.is_valid()) == (False, True)
    assert _PROTOTYPES[_OwnFields] is None
