"""Serializer fields for the wire conventions: amounts as decimal strings, UTC times with Z."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from . import clock
from .money import format_amount, normalize_currency, round_half_up


@extend_schema_field({"oneOf": [{"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
                                {"type": "number", "description": "Written without an exponent (10.5, not 1.05e1)."}],
                      "example": "10.50"})
class AmountInField(serializers.Field[Any, Any, Any, Any]):
    """An amount in major units as a decimal string or JSON number; parsed with its currency later."""

    default_error_messages = {"invalid": "Send the amount as a decimal string or a number."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Amount in major units, as a decimal string (e.g. \"10.50\") or a number.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "example": "10.50"})
class AmountOutField(serializers.Field[Any, Any, str | None, Any]):
    """Renders integer minor units as a decimal string with exactly the currency's digits."""

    def __init__(self, *, currency_attr: str = "currency", **kwargs: Any) -> None:
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


class MinorAverageOutField(AmountOutField):
    """A figure computed from amounts (a mean, a standard deviation) held as fractional minor units: rendered
    like an amount, a decimal string in major units with the currency's digits, rounded half up to them."""

    def to_representation(self, value: Any) -> str | None:
        amount, currency = value
        return None if amount is None else format_amount(round_half_up(Decimal(str(amount))), currency)


class UtcDateTimeField(serializers.DateTimeField):
    # DRF's own DateTimeField also answers None for no value; its stubs say `str`.
    def to_representation(self, value: dt.datetime | None) -> str | None:  # type: ignore[override]
        return clock.isoformat(value)


# Dates a client may filter by: far beyond any record of ours, and far from the edges of
# datetime, where a time zone or a period's arithmetic overflows (year 1, year 9999).
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
_EARLIEST = dt.datetime.combine(EARLIEST_DATE, dt.time(), tzinfo=dt.UTC)
_AFTER_LATEST = dt.datetime.combine(LATEST_DATE + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
DATE_RANGE_MESSAGE = f"Dates must be from {EARLIEST_DATE} to {LATEST_DATE} (UTC)."
# The same range as the schema states it: the year is 2000-2100 (its last day stands for itself).
DATE_PATTERN = r"^(20[0-9]{2}|2100)-"


def in_sane_range(value: dt.datetime) -> bool:
    """An aware datetime inside EARLIEST_DATE .. LATEST_DATE (UTC)."""
    try:
        return _EARLIEST <= value.astimezone(dt.UTC) < _AFTER_LATEST
    except (OverflowError, ValueError):
        return False


def in_date_range(value: dt.datetime) -> dt.datetime:
    """An aware datetime inside EARLIEST_DATE .. LATEST_DATE, or a ValidationError."""
    if not in_sane_range(value):
        raise serializers.ValidationError(DATE_RANGE_MESSAGE)
    return value


@extend_schema_field({"type": "string", "format": "date-time", "pattern": DATE_PATTERN,
                      "description": f"ISO 8601 datetime from {EARLIEST_DATE} to {LATEST_DATE} (UTC)."})
class DateTimeInField(serializers.DateTimeField):
    """An ISO 8601 datetime filter (created_gte, ...): a string, inside the sane date range."""

    def to_internal_value(self, value: dt.datetime | str) -> dt.datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]")
        return in_date_range(super().to_internal_value(value))


@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN,
                      "description": f"ISO 8601 date (a whole UTC day) from {EARLIEST_DATE} to {LATEST_DATE}."})
class DateInField(serializers.DateField):
    """A UTC day (YYYY-MM-DD) as a string, inside the sane date range: periods of whole days (exports)."""

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DD")
        day = super().to_internal_value(value)
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise serializers.ValidationError(DATE_RANGE_MESSAGE)
        return day


@extend_schema_field({"anyOf": [{"type": "string", "format": "date", "pattern": DATE_PATTERN},
                                {"type": "string", "format": "date-time", "pattern": DATE_PATTERN}],
                      "description": f"ISO 8601 date (a whole UTC day) or datetime, from {EARLIEST_DATE} to "
                                     f"{LATEST_DATE} (UTC)."})
class DateOrDateTimeField(serializers.Field[dt.datetime, Any, Any, Any]):
    """ISO date (a whole UTC day) or ISO datetime, inside the sane date range."""

    default_error_messages = {"invalid": "Use an ISO 8601 date (2026-11-26) or datetime."}

    def __init__(self, *, end: bool = False, **kwargs: Any) -> None:
        self.end = end
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dt.datetime:
        if not isinstance(data, str) or len(data) > 64:
            self.fail("invalid")
        try:
            if len(data) == 10:
                day = dt.date.fromisoformat(data)
                if not EARLIEST_DATE <= day <= LATEST_DATE:
                    raise serializers.ValidationError(DATE_RANGE_MESSAGE)
                # An end date means "through that day": exclusive at the next midnight.
                day = day + dt.timedelta(days=1) if self.end else day
                return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            value = dt.datetime.fromisoformat(data.replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid")
        return in_date_range(value if value.tzinfo else value.replace(tzinfo=dt.UTC))

    def to_representation(self, value: Any) -> Any:
        return value


class CountryField(serializers.CharField):
    """An ISO 3166-1 alpha-2 code: two ASCII letters as sent (no trimming), stored upper-case."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("min_length", 2)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 country code, e.g. DE.")
        super().__init__(**kwargs)
        # DRF returns "" before validators when blanks are allowed; the pattern says so too.
        pattern = r"^([A-Za-z]{2})?$" if self.allow_blank else r"^[A-Za-z]{2}$"
        self.validators.append(RegexValidator(pattern, "Two letters (ISO 3166-1 alpha-2), e.g. DE."))


class CurrencyField(serializers.CharField):
    """An ISO 4217 code in any case; one we do not support is `unsupported_currency` in every
    operation (inputs and list filters alike), not a filter that silently matches nothing."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("min_length", 3)
        kwargs.setdefault("help_text", "ISO 4217 code, any case (e.g. usd).")
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return normalize_currency(value) if value else value


def validate_metadata(value: dict[str, Any]) -> None:
    """Integrators' free-form metadata on any object: bounded, scalar values only."""
    if len(value) > 50:
        raise serializers.ValidationError("At most 50 metadata keys.")
    for key, item in value.items():
        if len(str(key)) > 40 or not isinstance(item, str | int | float | bool) or len(str(item)) > 500:
            raise serializers.ValidationError("Metadata keys are up to 40 characters; values are scalars up to 500.")


def not_a_string(field: serializers.Field[Any, Any, Any, Any], value: Any) -> bool:
    """A JSON number (or boolean) sent where a string field expects text.

    DRF's CharField turns 5 into "5" (and -1.1e89 into "-1.1e+89"); a client that sends a number
    for a reason or an id has made a mistake we should name, not store.
    """
    if isinstance(field, serializers.ListField) and isinstance(value, list) and field.child is not None:
        return any(not_a_string(field.child, item) for item in value)
    return isinstance(field, serializers.CharField) and isinstance(value, int | float | bool)


class ListQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)
    cursor = serializers.CharField(required=False, allow_blank=False)


# Per serializer class, its fields as DRF's get_fields() first made them, unbound; None for a class whose fields
# cannot be shared this way.
_PROTOTYPES: dict[type[serializers.BaseSerializer[Any]], dict[str, serializers.Field[Any, Any, Any, Any]] | None] = {}
# Fields that hold other fields or serializers: classes with one build their fields as DRF does.
_NESTED = (serializers.BaseSerializer,)
# Fields with a child field bound to them (a list's items, a dict's values): the child gets its own copy too.
_WITH_CHILD = (serializers.ListField, serializers.DictField)


def with_copied_fields(serializer: serializers.Serializer[Any]) -> serializers.Serializer[Any]:
    """`serializer` with its fields set up from shallow copies of its class's first ones, instead of DRF's deep
    copy of every declared field on every instance (which runs each field's __init__ again: ~0.2 ms a call for an
    input of a dozen fields). Only for a class that keeps DRF's own get_fields() and has plain fields; any other
    builds its fields as DRF does."""
    cls = type(serializer)
    if cls not in _PROTOTYPES:
        fields = serializer.get_fields()
        shareable = cls.get_fields is serializers.Serializer.get_fields and all(map(_plain, fields.values()))
        _PROTOTYPES[cls] = fields if shareable else None
    prototype = _PROTOTYPES[cls]
    if prototype is not None and "fields" not in serializer.__dict__:
        bound = BindingDict(serializer)
        for name, field in prototype.items():
            bound[name] = _copied(field)  # bind() sets its name and parent on the copy
        serializer.__dict__["fields"] = bound  # what the `fields` cached_property would have stored
    return serializer


def _plain(field: Any) -> bool:
    """No serializer inside; at most one level of child (a list of lists goes DRF's way)."""
    child = getattr(field, "child", None)
    if isinstance(field, _NESTED):
        return False
    return child is None or (not isinstance(child, _NESTED) and getattr(child, "child", None) is None)


def release_fields(serializer: serializers.Serializer[Any]) -> None:
    """A serializer done with (its validated data read) lets go of its fields. DRF binds each field to its serializer
    (the field's `parent`, the serializer's `fields`) and a list's or dict's child to its field: reference cycles
    that left every call's input serializer and fields (~30 objects for a payment) to the garbage collector. Without
    them they are freed as the call returns."""
    fields = serializer.__dict__.pop("fields", None)
    for field in (fields or {}).values():
        child = getattr(field, "child", None)
        if child is not None and getattr(child, "parent", None) is field:
            vars(child).pop("parent", None)


def _copied(field: serializers.Field[Any, Any, Any, Any]) -> serializers.Field[Any, Any, Any, Any]:
    new = copy.copy(field)
    if isinstance(new, _WITH_CHILD):
        child = copy.copy(new.child)  # bound by the field's __init__ already: only its parent changes
        child.parent = new  # type: ignore[assignment]  # the stubs say a parent is a serializer; DRF's is the field
        new.child = child
    return new
