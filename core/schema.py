"""The OpenAPI side of the REST door: what each generated view documents, derived from its operation.

Everything here is derived from the operations table and the wire conventions (DESIGN.md), so the
schema says what the server does: the error statuses an operation can answer, path ids once (in the
path), the `Idempotency-Key` bounds, currencies as the codes `core.money` accepts. Schemathesis
(tests/test_schemathesis.py) checks the committed schema against the running application.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from .idempotency import MAX_KEY_LENGTH
from .money import CURRENCY_EXPONENTS
from .operations import ANY_SCOPE, Operation
from .serializers import AmountInField, CurrencyField, validate_metadata

_F = TypeVar("_F", bound=Callable[..., Any])

CURRENCIES = sorted(CURRENCY_EXPONENTS)
# Input currencies are accepted in any case; a character class per letter says exactly that
# (JSON Schema regexes have no case-insensitive flag), so every matching string is accepted.
CURRENCY_ANY_CASE_PATTERN = "^(?:" + "|".join(
    "".join(f"[{ch}{ch.lower()}]" for ch in code) for code in CURRENCIES) + ")$"
# Idempotency keys are 1-255 printable characters (`core.idempotency.validate_key`); a header value
# reaches the server as Latin-1 with surrounding whitespace stripped, so these are the characters.
_KEY_CHAR = r"\x21-\x7e\xa1-\xac\xae-\xff"
IDEMPOTENCY_KEY_PATTERN = rf"^[{_KEY_CHAR}](?:[ {_KEY_CHAR}]*[{_KEY_CHAR}])?$"
# Public ids are a type prefix and random letters and digits (`core.ids`); anything else is a 404.
PATH_ID_PATTERN = r"^[A-Za-z0-9_]+$"


class Error(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable error code (see the status's description), e.g. not_found.")
    message = serializers.CharField(help_text="For people; wording may change.")
    details = serializers.DictField(help_text="Machine-readable specifics, e.g. `fields` for validation_error.")


class ErrorEnvelope(serializers.Serializer[Any]):
    """Every error under /api/: `{"error": {"code", "message", "details"}}`."""

    error = Error()


class HeldCall(serializers.Serializer[Any]):
    """The 202 answer of an approvable call above a staff-set threshold (the call did not run)."""

    status = serializers.CharField(help_text="pending_approval; a retry with the same key answers the request's "
                                             "status now (approved, rejected, expired).")
    approval_id = serializers.CharField(help_text="apr_ id; poll GET /api/v1/approvals/{approval_id}.")
    operation = serializers.CharField()
    amount = serializers.CharField(allow_null=True, help_text="Decimal string in the currency's digits.")
    currency = serializers.CharField(allow_null=True)
    expires_at = serializers.CharField(help_text="ISO 8601 UTC; nobody decided by then means expired.")


class CurrencyFieldExtension(OpenApiSerializerFieldExtension):
    target_class = CurrencyField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        if direction == "response":
            return {"type": "string", "enum": CURRENCIES}
        return {"type": "string", "pattern": CURRENCY_ANY_CASE_PATTERN, "example": "usd"}


# A required text input is trimmed by Python's `str.strip()` (DRF's `trim_whitespace`), whose whitespace is
# not JSON Schema's (ECMA-262) `\s`: \x1c-\x1f and \x85 are stripped but not `\s`, \ufeff is `\s` but kept.
# So "one character that is not stripped" is spelt out, and means the same in both regex dialects.
_STRIPPED = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = rf"[^{_STRIPPED}]"


class RequiredTextFieldExtension(OpenApiSerializerFieldExtension):
    """A text input that may not be blank is trimmed first (DRF's `trim_whitespace`), so only spaces is
    blank and refused (400 `validation_error`): the schema says so with a pattern (NOT_BLANK_PATTERN), rather
    than promising that any non-empty string is valid."""

    target_class = serializers.CharField

    @classmethod
    def _matches(cls, target: Any) -> bool:
        return (type(target) is serializers.CharField and target.trim_whitespace and not target.allow_blank
                and not target.read_only)

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and "pattern" not in schema:
            schema["pattern"] = NOT_BLANK_PATTERN
        return schema


class IpAddressFieldExtension(OpenApiSerializerFieldExtension):
    target_class = serializers.IPAddressField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}


class MetadataFieldExtension(OpenApiSerializerFieldExtension):
    """Every `metadata` input (a DictField validated by `core.serializers.validate_metadata`)."""

    target_class = serializers.DictField

    @classmethod
    def _matches(cls, target: Any) -> bool:
        return isinstance(target, serializers.DictField) and validate_metadata in getattr(target, "validators", [])

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "object", "maxProperties": 50,
                "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 500}, {"type": "number"},
                                                   {"type": "boolean"}]},
                "description": "Your own key-value pairs: up to 50 keys of up to 40 characters; values are "
                               "strings of up to 500 characters, numbers or booleans."}


def _has_amount(op: Operation) -> bool:
    fields = op.input().fields.values() if op.input is not None else ()
    return any(isinstance(f, AmountInField | CurrencyField) for f in fields)


def _looks_objects_up(op: Operation, path_params: dict[str, str]) -> bool:
    """A path id, or an `<object>_id` in the input of a call about one object (not a list filter)."""
    if path_params:
        return True
    return not op.many and op.input is not None and any(name.endswith("_id") for name in op.input().fields.keys())


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorEnvelope, description=description)


def error_response(description: str) -> OpenApiResponse:
    """An error answer (the envelope) for a hand-written view's `extend_schema`."""
    return _error(description)


def path_id_parameter(name: str, description: str = "") -> OpenApiParameter:
    """A path id as the generated views document it (a public id; anything else is a 404)."""
    return OpenApiParameter(name=name, type={"type": "string", "minLength": 1, "pattern": PATH_ID_PATTERN},
                            location=OpenApiParameter.PATH, description=description)


def common_error_responses(scope: str) -> dict[int, OpenApiResponse]:
    """The 401, 403, 429 and 503 every authenticated /api/ view can answer (a hand-written one too)."""
    return {
        401: _error("Not authenticated: not_authenticated, invalid_api_key, api_key_expired, api_key_revoked."),
        403: _error(f"Not allowed: insufficient_scope (needs {scope}), permission_denied."),
        429: _error("Too many requests for this key: rate_limited; retry after the Retry-After seconds."),
        503: _error("A required service is down: service_unavailable; retry later."),
    }


def error_responses(op: Operation, http_method: str, path_params: dict[str, str]) -> dict[int, OpenApiResponse]:
    """The error statuses `op` can answer on this door, each with the codes it carries."""
    has_body = http_method not in ("get", "delete")
    codes_400 = ["validation_error (details.fields)", "raw_card_data_not_allowed"]
    if has_body:
        codes_400.append("invalid_json")
    if not op.read_only:
        codes_400.append("idempotency_key_invalid")
    if _has_amount(op):
        codes_400 += ["invalid_amount", "amount_too_precise", "amount_not_positive", "unsupported_currency"]
    scope = "any scope" if op.scope == ANY_SCOPE else op.scope
    responses = {400: _error("Bad request: " + ", ".join(codes_400) + "."), **common_error_responses(scope)}
    if _looks_objects_up(op, path_params):
        responses[404] = _error("No such object (or a wrong id prefix): not_found.")
    if not op.read_only:
        responses[409] = _error("State conflict (invalid_state_transition and the codes in the description), or "
                                "idempotency_key_in_use while a call with the same key runs.")
    if has_body:
        responses[413] = _error("The body is too large: request_too_large.")
    if not op.read_only:
        responses[422] = _error("Business refusal (the codes in the description), or idempotency_key_reuse: "
                                "the key was used with a different request.")
    return dict(sorted(responses.items()))


def _fields_without(serializer_class: type[serializers.Serializer[Any]], excluded: set[str],
                    suffix: str) -> type[serializers.Serializer[Any]] | None:
    """A copy of the input serializer without the path ids (documented once, in the path)."""
    fields = {name: copy.deepcopy(f) for name, f in serializer_class().fields.items() if name not in excluded}
    if not fields:
        return None
    name = f"{serializer_class.__name__.removesuffix('Serializer')}{suffix}"
    return type(name, (serializers.Serializer,), {**fields, "__module__": serializer_class.__module__})


def _list_envelope(op: Operation, output: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    return type(f"{output.__name__.removesuffix('Serializer')}List", (serializers.Serializer,), {
        "data": output(many=True),
        "has_more": serializers.BooleanField(),
        "next_cursor": serializers.CharField(allow_null=True),
        "__module__": output.__module__,
    })


def operation_schema(op: Operation, http_method: str, path_params: dict[str, str],
                     operation_id: str | None) -> Callable[[_F], _F]:
    """The `extend_schema` of the view method that answers `http_method` with `op`."""
    input_fields = op.input().fields if op.input is not None else {}
    params: list[Any] = [
        OpenApiParameter(name=kw, type={"type": "string", "minLength": 1, "pattern": PATH_ID_PATTERN},
                         location=OpenApiParameter.PATH,
                         description=getattr(input_fields.get(field), "help_text", None) or "")
        for kw, field in path_params.items()]
    if not op.read_only:
        params.append(OpenApiParameter(
            name="Idempotency-Key", location=OpenApiParameter.HEADER, required=False,
            type={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": IDEMPOTENCY_KEY_PATTERN},
            description=f"Makes a retried write safe (24 h): 1 to {MAX_KEY_LENGTH} printable characters, a new "
                        "one for each new request."))
    request_serializer = None
    if op.input is not None:
        remaining = _fields_without(op.input, set(path_params.values()),
                                    "Query" if http_method in ("get", "delete") else "Body")
        if http_method in ("get", "delete"):
            if remaining is not None:
                params.append(remaining)
        else:
            request_serializer = remaining
    response_serializer = _list_envelope(op, op.output) if op.many and op.output else op.output
    responses: dict[int, Any] = {op.success_status: response_serializer}
    if op.approvable:
        responses[202] = OpenApiResponse(HeldCall, description="Held for approval; the call did not run.")
    responses.update(error_responses(op, http_method, path_params))
    return extend_schema(
        operation_id=operation_id or op.name, summary=op.title, description=op.description,
        tags=list(op.tags) or None, request=request_serializer, responses=dict(sorted(responses.items())),
        parameters=params,
    )


_CURRENCY_PROPERTY = re.compile(r"^(?:.+_)?currency$")
# An approval request's currency is blank when the held call named no amount.
_CURRENCY_MAY_BE_BLANK = {"Approval"}


def _response_components(schemas: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for name, component in schemas.items():
        if name.endswith("Request") or name in _CURRENCY_MAY_BE_BLANK or not isinstance(component, dict):
            continue
        yield component


def document_currencies_and_headers(result: dict[str, Any], generator: Any, request: Any,
                                    public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook.

    Output serializers render `currency` as plain text fields; what they render is always one of the
    upper-case codes of `core.money`, so responses say so. Request bodies refuse unknown fields
    (400 validation_error naming them), so they say `additionalProperties: false`. 429 answers carry
    `Retry-After`; `cursor` is only what `next_cursor` gave.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    schemas["CurrencyEnum"] = {"type": "string", "enum": CURRENCIES, "description": "ISO 4217 code, upper case."}
    for component in _response_components(schemas):
        for prop_name, prop in (component.get("properties") or {}).items():
            if not _CURRENCY_PROPERTY.match(prop_name) or prop.get("type") != "string" or "enum" in prop:
                continue
            ref = {"$ref": "#/components/schemas/CurrencyEnum"}
            replacement = {"allOf": [ref]} if prop.get("nullable") or prop.get("readOnly") else ref
            for key in ("nullable", "readOnly", "description"):
                if key in prop:
                    replacement[key] = prop[key]
            component["properties"][prop_name] = replacement
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == "cursor":
                    parameter["description"] = ("The next_cursor of the previous page; any other value is 400 "
                                                "validation_error.")
            limited = operation.get("responses", {}).get("429")
            if limited is not None:
                limited["headers"] = {"Retry-After": {
                    "schema": {"type": "integer", "minimum": 1},
                    "description": "Seconds to wait before retrying."}}
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
