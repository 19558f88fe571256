"""`OutputSerializer`: a read-only serializer that renders an object from a plan made once per serializer instance,
instead of DRF's walk of every field for every object.

DRF's `Serializer.to_representation` asks each readable field for its attribute (`Field.get_attribute`: the source's
path walked, a mapping test and a callable test per step, its errors turned into defaults) and then for its
representation. For the objects a write renders on every call (a payment three times per MCP `create_payment`: the
answer and two events; a transfer's entry twice) the walk is the costliest part of rendering. Here the walk is what
changes, and only where it can be read off directly: a field that keeps DRF's own `get_attribute` and has a one-step
source reads the attribute (or a dict's key) itself, a `*` source is the instance, and an amount reads its value and
currency as `AmountOutField.get_attribute` does. Every field then renders by its own `to_representation`, so no
field's conversion is written again here. Any other field, and any attribute that is missing, callable or raises,
goes through the field's own `get_attribute`, so the output is DRF's whatever the field
(tests/foundation/test_output_serializer.py compares the two).

Output serializers are bound once per thread (`core.operations._bound_output`) and keep no per-call state, so the
plan, made at the first object, serves every later one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers
from rest_framework.fields import SkipField

from .serializers import AmountOutField

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


def _read(read: Read, attr: str) -> Any:
    """The attribute as DRF's walk finds it, or _MISSING where the walk would do more than read it."""
    try:
        value = read(attr, _MISSING)
    except ObjectDoesNotExist:
        return _MISSING
    return _MISSING if callable(value) else value


def _step(field: serializers.Field[Any, Any, Any, Any]) -> Step:
    through = _through_field(field)
    render = field.to_representation
    get_attribute = type(field).get_attribute
    if get_attribute is serializers.Field.get_attribute and not field.source_attrs:  # source="*", method fields
        return lambda instance, read: None if instance is None else render(instance)
    if len(field.source_attrs) != 1:
        return through
    attr = field.source_attrs[0]
    if get_attribute is AmountOutField.get_attribute:
        currency_attr = field.currency_attr  # type: ignore[attr-defined]

        def amount(instance: Any, read: Read) -> Any:
            value, currency = _read(read, attr), _read(read, currency_attr)
            return through(instance, read) if value is _MISSING or currency is _MISSING else render((value, currency))

        return amount
    if get_attribute is not serializers.Field.get_attribute:
        return through

    def plain(instance: Any, read: Read) -> Any:
        value = _read(read, attr)
        if value is _MISSING:
            return through(instance, read)
        return None if value is None else render(value)

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
            plan = self._plan = [(field.field_name, _step(field)) for field in self._readable_fields]
        ret: dict[Any, Any] = {}
        for name, step in plan:
            value = step(instance, read)
            if value is not _MISSING:
                ret[name] = value
        return ret
