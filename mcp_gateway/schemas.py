"""JSON Schema (Draft 2020-12) derived from the DRF serializers the REST door uses.

Inputs are strict (`additionalProperties: false`, DRF's `required`), because an agent that
sends an unknown or misspelt argument should hear so rather than have it ignored. Outputs
describe what DRF renders: every property may be null (DRF renders a missing attribute as
null whatever the field says) and objects stay open, so the schema never rejects a valid
canonical object; the types of the values are still checked.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from core.serializers import AmountInField, AmountOutField

_ANNOTATION_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
                     list: "array", "str": "string", "int": "integer", "float": "number", "bool": "boolean",
                     "dict": "object", "list": "array"}


def _choices(field: serializers.ChoiceField) -> list[Any]:
    return [key for key in field.choices]


def _method_type(field: serializers.SerializerMethodField) -> dict[str, Any]:
    parent = field.parent
    method = getattr(parent, field.method_name or f"get_{field.field_name}", None)
    if method is None:
        return {}
    annotation = inspect.signature(method).return_annotation
    # drf-spectacular style: `-> CardSerializer(allow_null=True)` or `-> RiskSerializer`.
    if isinstance(annotation, type) and issubclass(annotation, serializers.BaseSerializer):
        annotation = annotation()
    if isinstance(annotation, serializers.BaseSerializer):
        return field_schema(annotation, for_output=True)
    if isinstance(annotation, str):
        annotation = annotation.split("|")[0].strip()
    elif typing.get_origin(annotation) is not None:
        annotation = typing.get_origin(annotation)
    kind = _ANNOTATION_TYPES.get(annotation)
    return {"type": kind} if kind else {}


def field_schema(field: serializers.Field, *, for_output: bool) -> dict[str, Any]:  # noqa: C901
    """The schema of one field's value (without nullability)."""
    if isinstance(field, serializers.ListSerializer):
        # A ListSerializer's child is a serializer; the stubs type it as any field.
        return {"type": "array", "items": serializer_schema(field.child, for_output=for_output)}  # type: ignore[arg-type]
    if isinstance(field, serializers.Serializer):
        return serializer_schema(field, for_output=for_output)
    if isinstance(field, AmountInField):
        return {"type": ["string", "number"], "description": "Amount in major units, e.g. \"10.50\"."}
    if isinstance(field, AmountOutField):
        return {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
    if isinstance(field, serializers.SerializerMethodField):
        return _method_type(field)
    if isinstance(field, serializers.MultipleChoiceField):
        return {"type": "array", "items": {"enum": _choices(field)}}
    if isinstance(field, serializers.ChoiceField):
        blank = [""] if field.allow_blank and "" not in field.choices else []
        return {"enum": _choices(field) + blank}
    if isinstance(field, serializers.BooleanField):
        return {"type": "boolean"}
    if isinstance(field, serializers.IntegerField):
        schema: dict[str, Any] = {"type": "integer"}
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
        return schema
    if isinstance(field, serializers.FloatField):
        return {"type": "number"}
    if isinstance(field, serializers.DecimalField):
        return {"type": "string"} if for_output else {"type": ["string", "number"]}
    if isinstance(field, serializers.DateTimeField):
        return {"type": "string", "format": "date-time"}
    if isinstance(field, serializers.DateField):
        return {"type": "string", "format": "date"}
    if isinstance(field, serializers.EmailField):
        return {"type": "string", "format": "email"}
    if isinstance(field, serializers.CharField):
        schema = {"type": "string"}
        if not for_output:
            if field.max_length is not None:
                schema["maxLength"] = field.max_length
            # DRF accepts "" before it checks min_length when blanks are allowed.
            min_length = 0 if field.allow_blank else (field.min_length or 1)
            if min_length:
                schema["minLength"] = min_length
            # Compiled by RegexValidator.__init__; the stubs allow the class attribute's plain str.
            patterns = [v.regex.pattern for v in field.validators  # type: ignore[union-attr]
                        if isinstance(v, RegexValidator) and not v.inverse_match]
            if patterns:
                schema["pattern"] = patterns[0]
        return schema
    if isinstance(field, serializers.DictField | serializers.HStoreField):
        return {"type": "object"}
    if isinstance(field, serializers.ListField):
        child = field_schema(field.child, for_output=for_output) if field.child is not None else {}
        return {"type": "array", "items": child}
    if isinstance(field, serializers.JSONField):
        return {}
    if isinstance(field, serializers.RelatedField):
        return {"type": "string"}
    return {}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]} if None not in schema["enum"] else schema
    kind = schema.get("type")
    if kind is None:
        return schema
    kinds = kind if isinstance(kind, list) else [kind]
    return {**schema, "type": [*kinds, "null"]} if "null" not in kinds else schema


def serializer_schema(serializer: serializers.Serializer, *, for_output: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in serializer.fields.items():
        if for_output and field.write_only or not for_output and field.read_only:
            continue
        schema = field_schema(field, for_output=for_output)
        if field.help_text:
            schema = {**schema, "description": str(field.help_text)}
        if for_output or getattr(field, "allow_null", False):
            schema = _nullable(schema)
        if not for_output:
            default = field.default
            if default is not serializers.empty and not callable(default):
                schema["default"] = default
            if field.required:
                required.append(name)
        properties[name] = schema
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if for_output:
        return result
    result["additionalProperties"] = False
    if required:
        result["required"] = required
    return result


def input_schema(serializer_class: type[serializers.Serializer] | None) -> dict[str, Any]:
    if serializer_class is None:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    return serializer_schema(serializer_class(), for_output=False)


def output_schema(serializer_class: type[serializers.Serializer] | None, *, many: bool) -> dict[str, Any]:
    item = serializer_schema(serializer_class(), for_output=True) if serializer_class else {}
    if not many:
        return item or {"type": "object"}
    return {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": item},
            "has_more": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["data", "has_more", "next_cursor"],
    }
