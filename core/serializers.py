"""Serializer fields for the wire conventions: amounts as decimal strings, UTC times with Z."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import clock
from .money import format_amount


@extend_schema_field({"oneOf": [{"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, {"type": "number"}],
                      "example": "10.50"})
class AmountInField(serializers.Field):
    """An amount in major units as a decimal string or JSON number; parsed with its currency later."""

    default_error_messages = {"invalid": "Send the amount as a decimal string or a number."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Amount in major units, as a decimal string (e.g. \"10.50\") or a number.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "example": "10.50"})
class AmountOutField(serializers.Field):
    """Renders integer minor units as a decimal string with exactly the currency's digits."""

    def __init__(self, *, currency_attr: str = "currency", **kwargs):
        self.currency_attr = currency_attr
        kwargs["read_only"] = True
        kwargs.setdefault("help_text", "Decimal string with the currency's number of digits.")
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        currency = instance[self.currency_attr] if isinstance(instance, dict) else getattr(instance, self.currency_attr)
        return (value, currency)

    def to_representation(self, value: Any) -> str | None:
        amount, currency = value
        return None if amount is None else format_amount(amount, currency)


class UtcDateTimeField(serializers.DateTimeField):
    def to_representation(self, value):
        return clock.isoformat(value)


class CurrencyField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("min_length", 3)
        kwargs.setdefault("help_text", "ISO 4217 code, any case (e.g. usd).")
        super().__init__(**kwargs)


def validate_metadata(value: dict) -> dict:
    """Integrators' free-form metadata on any object: bounded, scalar values only."""
    if len(value) > 50:
        raise serializers.ValidationError("At most 50 metadata keys.")
    for key, item in value.items():
        if len(str(key)) > 40 or not isinstance(item, str | int | float | bool) or len(str(item)) > 500:
            raise serializers.ValidationError("Metadata keys are up to 40 characters; values are scalars up to 500.")
    return value


class ListQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)
    cursor = serializers.CharField(required=False, allow_blank=False)
