"""`core.output.OutputSerializer` renders exactly what DRF's `Serializer.to_representation` renders: the same keys in
the same order and the same values, for the fields whose attribute it reads itself and for those it leaves to DRF."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from rest_framework import serializers

from core.output import OutputSerializer
from core.serializers import AmountOutField, UtcDateTimeField


class Colour(models.TextChoices):
    RED = "red", "Red"
    BLUE = "blue", "Blue"


class Number(models.IntegerChoices):
    ONE = 1, "One"


class Shouting(serializers.CharField):
    def get_attribute(self, instance):  # its own walk: DRF's path
        return str(super().get_attribute(instance)).upper()


class Everything(OutputSerializer):
    text = serializers.CharField()
    number = serializers.IntegerField()
    colour = serializers.ChoiceField(choices=Colour.choices)
    level = serializers.ChoiceField(choices=Number.choices)
    amount = AmountOutField()
    other_amount = AmountOutField(currency_attr="other_currency", allow_null=True)
    when = UtcDateTimeField()
    metadata = serializers.DictField()
    typed = serializers.DictField(child=serializers.IntegerField())
    method = serializers.SerializerMethodField()
    flag = serializers.BooleanField()
    shout = Shouting(source="text")
    gone = serializers.CharField()  # its read raises ObjectDoesNotExist: None, as DRF gives
    nested = serializers.CharField(source="inner.name")  # a dotted source: DRF's path
    whole = serializers.CharField(source="*")  # the instance itself: DRF's path
    optional = serializers.CharField(required=False)  # missing: skipped, as DRF skips it
    nullable = serializers.CharField(allow_null=True)  # missing: None, as DRF gives
    called = serializers.CharField()  # a method on the instance: DRF calls it
    currency = serializers.CharField()
    other_currency = serializers.CharField(allow_null=True)

    def get_method(self, obj):
        return {"seen": obj is not None}


class Thing(SimpleNamespace):
    def __str__(self):
        return "a thing"

    def called(self):
        return "called it"

    @property
    def gone(self):
        raise ObjectDoesNotExist("no such row")


def _drf(serializer, instance):
    """DRF's own rendering, as every serializer did before `OutputSerializer`."""
    return list(serializers.Serializer.to_representation(serializer, instance).items())


def _ours(serializer, instance):
    return list(serializer.to_representation(instance).items())


def _thing(**changes):
    values = dict(text="hello", number=7, colour=Colour.RED, level=Number.ONE, amount=1050, other_amount=None,
                  when=dt.datetime(2026, 12, 5, 1, 2, 3, 456789, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                  metadata={"a": 1, 2: None}, typed={"x": "5"}, flag="yes", inner=SimpleNamespace(name="in"),
                  currency="JPY", other_currency="USD")
    values.update(changes)
    return Thing(**values)


@pytest.mark.parametrize("instance", [
    _thing(),
    _thing(text=5, number="12", colour="blue", level=1, amount=-3, other_amount=250, when=None, metadata={},
           flag=0, currency="USD", optional="here", nullable="there"),
    _thing(text="", colour="", level="9", amount=None, nullable=None),
    _thing(colour="not a choice", currency="KWD", amount=1),
], ids=["enums", "coerced", "blank", "unknown-choice"])
def test_every_field_renders_as_drf_renders_it(instance):
    serializer = Everything()
    assert _ours(serializer, instance) == _drf(serializer, instance)
    assert _ours(serializer, instance) == _drf(serializer, instance)  # the plan, made at the first call, again


def test_known_values_come_out_as_the_wire_conventions_say():
    rendered = Everything().to_representation(_thing())
    assert rendered["amount"] == "1050" and rendered["other_amount"] is None
    assert rendered["colour"] == "red" and rendered["level"] == 1
    assert rendered["when"] == "2026-12-04T23:02:03.456789Z"
    assert rendered["metadata"] == {"a": 1, "2": None} and rendered["typed"] == {"x": 5}
    assert rendered["called"] == "called it" and rendered["whole"] == "a thing" and rendered["nested"] == "in"
    assert rendered["flag"] is True and rendered["nullable"] is None and "optional" not in rendered
    assert rendered["shout"] == "HELLO" and rendered["gone"] is None
    assert rendered["method"] == {"seen": True}


def test_a_dict_renders_as_drf_renders_it_and_a_missing_key_is_drfs_error():
    serializer = Everything()
    instance = dict(vars(_thing()), called="from the dict", whole="w")
    instance["nested"] = "ignored"
    instance["inner"] = {"name": "in a dict"}
    instance["gone"] = "here"
    assert _ours(serializer, instance) == _drf(serializer, instance)
    del instance["currency"]
    with pytest.raises(KeyError):
        serializers.Serializer.to_representation(serializer, instance)
    with pytest.raises(KeyError):
        serializer.to_representation(instance)
