"""`OutputSerializer`: a read-only serializer that renders an object from a plan made once per serializer instance,
instead of DRF's walk of every field for every object.

DRF's `Serializer.to_representation` asks each readable field for its attribute (`get_attribute`: the source's path
walked, each step tested for a callable, a dozen calls) and then for its representation. For the objects a write
renders on every call (a payment three times per MCP `create_payment`: the answer and two events; a transfer's entry
twice) that walk is the costliest part of rendering. Here each field becomes one step chosen by its exact class: the
plain fields whose representation is known (text, choice, integer, amount, UTC time, method, dict of plain values)
read their attribute (or a dict's key) directly and convert it as DRF's field would; any other field, and any
attribute that is missing or callable, goes through the field's own `get_attribute` and `to_representation`, so the
output is DRF's whatever the field (tests/foundation/test_output_serializer.py compares the two).

Output serializers are bound once per thread (`core.operations._bound_output`) and keep no per-call state, so the
plan, made at the first object, serves every later one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from functools import partial
from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField, _UnvalidatedField

from . import clock
from .money import format_amount
from .serializers import AmountOutField, UtcDateTimeField

_MISSING = object()
Read = Callable[[str, Any], Any]  # getattr(instance, name, default), or a dict's get
Step = Callable[[Any, Read], Any]  # the field's representation of the instance, or _MISSING to skip the field


def _through_field(field: serializers.Field[Any, Any, Any, Any]) -> Step:
    """DRF's own path for one field (what `Serializer.to_representation` does with it)."""

    def step(instance: Any, read: Read) -> Any:
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            return _MISSING
        return None if attribute is None else field.to_representation(attribute)

    return step


def _converter(field: serializers.Field[Any, Any, Any, Any]) -> Callable[[Any], Any] | None:
    """The field's `to_representation` for a value that is not None, where its exact class is one we know."""
    kind = type(field)
    if kind is serializers.CharField:
        return str
    if kind is serializers.IntegerField:
        return int
    if kind is serializers.ChoiceField:
        choices = field.choice_strings_to_values  # type: ignore[attr-defined]

        def choice(value: Any) -> Any:
            if value == "":
                return value
            if isinstance(value, Enum) and str(value) != str(value.value):
                value = value.value
            return choices.get(str(value), value)

        return choice
    if kind is UtcDateTimeField:
        return clock.isoformat
    if kind is serializers.DictField and type(field.child) is _UnvalidatedField:  # type: ignore[attr-defined]
        return lambda value: {str(key): item for key, item in value.items()}
    return None


def _step(serializer: serializers.Serializer[Any], field: serializers.Field[Any, Any, Any, Any]) -> Step:
    through = _through_field(field)
    if type(field) is serializers.SerializerMethodField:
        method = getattr(serializer, field.method_name)
        return lambda instance, read: method(instance)
    if len(field.source_attrs) != 1:
        return through
    attr = field.source_attrs[0]
    if type(field) is AmountOutField:
        currency_attr = field.currency_attr

        def amount(instance: Any, read: Read) -> Any:
            value = read(attr, _MISSING)
            currency = read(currency_attr, _MISSING)
            if value is _MISSING or currency is _MISSING or callable(value):
                return through(instance, read)
            return None if value is None else format_amount(value, currency)

        return amount
    convert = _converter(field)
    if convert is None:
        return through

    def plain(instance: Any, read: Read) -> Any:
        value = read(attr, _MISSING)
        if value is _MISSING or callable(value):
            return through(instance, read)
        return None if value is None else convert(value)

    return plain


# A serializer for output only, rendered by a plan of one step per readable field. (No docstring: drf-spectacular
# would give it to every subclass without one as its schema description.)
class OutputSerializer(serializers.Serializer[Any]):

    _plan: list[tuple[str | None, Step]] | None = None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if type(instance) is dict:
            read: Read = instance.get
        elif isinstance(instance, Mapping):  # another mapping type: DRF reads it as it would
            return dict(super().to_representation(instance))
        else:
            read = partial(getattr, instance)
        plan = self._plan
        if plan is None:
            plan = self._plan = [(field.field_name, _step(self, field)) for field in self._readable_fields]
        ret: dict[Any, Any] = {}
        for name, step in plan:
            value = step(instance, read)
            if value is not _MISSING:
                ret[name] = value
        return ret
