"""What docs/schema.yml says about errors, ids, keys and currencies (it equals the generated schema:
test_schema_docs.py). Schemathesis checks the rest against the running application."""

import re
from pathlib import Path

import pytest
import yaml

from core.money import CURRENCY_EXPONENTS
from core.operations import all_operations

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "schema.yml").read_text())
OPERATIONS = [(path, method, op) for path, item in SCHEMA["paths"].items() for method, op in item.items()]
BY_NAME = {op.name: op for op in all_operations()}
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
# Hand-written views that are not operations (a file download): the statuses each documents.
HAND_WRITTEN = {"download_compliance_export": {200, 401, 403, 404, 409, 410, 429, 503}}


def _operation(operation_id: str):
    return BY_NAME[operation_id.removesuffix("_patch")]


def test_the_error_envelope_is_a_named_component():
    schemas = SCHEMA["components"]["schemas"]
    assert schemas["ErrorEnvelope"]["properties"] == {"error": {"$ref": "#/components/schemas/Error"}}
    assert set(schemas["Error"]["properties"]) == {"code", "message", "details"}
    assert schemas["Error"]["required"] == ["code", "details", "message"]


@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_documents_the_errors_it_can_answer(path, method, op):
    if op["operationId"] in HAND_WRITTEN:
        assert {int(status) for status in op["responses"]} == HAND_WRITTEN[op["operationId"]]
        _assert_error_answers(op)
        return
    operation = _operation(op["operationId"])
    expected = {400, 401, 403, 429, 503, operation.success_status}
    looks_up = operation.input is not None and any(name.endswith("_id") for name in operation.input().fields)
    if "{" in path or (not operation.many and looks_up):
        expected.add(404)
    if not operation.read_only:
        expected |= {409, 422} | ({413} if method != "delete" else set())  # a DELETE has no body
    if method == "post":  # a read with a body (assess_payment_risk) can be too large as well
        expected.add(413)
    if operation.approvable:
        expected.add(202)
    assert {int(status) for status in op["responses"]} == expected
    _assert_error_answers(op)
    if operation.approvable:
        assert op["responses"]["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/HeldCall"}


def _assert_error_answers(op: dict) -> None:
    for status, response in op["responses"].items():
        if int(status) >= 400:
            assert response["content"]["application/json"]["schema"] == ENVELOPE, status
            assert response["description"], status
    assert set(op["responses"]["429"]["headers"]) == {"Retry-After"}


@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_path_ids_are_documented_once_in_the_path(path, method, op):
    parameters = op.get("parameters", [])
    in_path = {p["name"] for p in parameters if p["in"] == "path"}
    assert in_path == set(re.findall(r"{(\w+)}", path))
    assert not in_path & {p["name"] for p in parameters if p["in"] == "query"}
    for parameter in parameters:
        if parameter["in"] == "path":
            assert parameter["schema"] == {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_]+$"}


def test_idempotency_key_header_is_bounded_like_the_server():
    headers = [p for _, _, op in OPERATIONS for p in op.get("parameters", []) if p["in"] == "header"]
    writes = [op for _, _, op in OPERATIONS
              if op["operationId"] not in HAND_WRITTEN and not _operation(op["operationId"]).read_only]
    assert len(headers) == len(writes) and {p["name"] for p in headers} == {"Idempotency-Key"}
    for schema in {yaml.safe_dump(p["schema"]): p["schema"] for p in headers}.values():
        assert (schema["minLength"], schema["maxLength"]) == (1, 255)
        pattern = re.compile(schema["pattern"])
        for key in ("a", "order-1", "k" * 255, "caf\u00e9 42", "x y"):
            assert pattern.fullmatch(key), key
        for key in (" ", " a", "a ", "tab\there", "\x7f", "nbsp\u00a0", ""):
            assert not pattern.fullmatch(key), key


def _currency_schemas(direction: str) -> list[dict]:
    found = []
    for name, component in SCHEMA["components"]["schemas"].items():
        if name.endswith("Request") == (direction == "request"):
            found += [prop for key, prop in component.get("properties", {}).items() if key == "currency"]
    for _, _, op in OPERATIONS:
        if direction == "request":
            found += [p["schema"] for p in op.get("parameters", []) if p["name"] == "currency"]
    return found


def test_input_currencies_accept_every_supported_code_in_any_case_and_nothing_else():
    schemas = _currency_schemas("request")
    assert len(schemas) >= 8
    for schema in schemas:
        pattern = re.compile(schema["pattern"])
        for code in CURRENCY_EXPONENTS:
            assert pattern.fullmatch(code) and pattern.fullmatch(code.lower()) and pattern.fullmatch(code.title())
        for other in ("XXX", "usdd", "US", "u$d", "", "000"):
            assert not pattern.fullmatch(other), other


def test_output_currencies_are_the_upper_case_enum():
    assert SCHEMA["components"]["schemas"]["CurrencyEnum"]["enum"] == sorted(CURRENCY_EXPONENTS)
    schemas = _currency_schemas("response")
    assert len(schemas) >= 8
    for schema in schemas:
        if schema.get("description", "").startswith("ISO 4217 code, upper case; blank"):
            continue  # an approval of a call that named no amount
        assert "#/components/schemas/CurrencyEnum" in str(schema), schema


def test_text_fields_are_strings_and_request_bodies_refuse_unknown_fields():
    bodies = {name: c for name, c in SCHEMA["components"]["schemas"].items() if name.endswith("Request")}
    assert bodies
    for name, component in bodies.items():
        assert component["additionalProperties"] is False, name
    refund = bodies["RefundCreateInputBodyRequest"]["properties"]
    assert refund["note"]["type"] == "string"
    assert bodies["FreezeInputBodyRequest"]["properties"]["reason"]["type"] == "string"


def test_required_text_patterns_refuse_exactly_what_the_server_trims_to_blank():
    """DRF trims with Python's str.strip(), whose whitespace is not JSON Schema's `\\s` (e.g. \\x1c, \\x85)."""
    from rest_framework import serializers
    from rest_framework.exceptions import ValidationError

    patterns = {prop["pattern"] for component in SCHEMA["components"]["schemas"].values()
                for prop in [*component.get("properties", {}).values(),
                             *(p.get("items", {}) for p in component.get("properties", {}).values())]
                if isinstance(prop, dict) and prop.get("pattern", "").startswith("[^")}
    assert len(patterns) == 1
    pattern = re.compile(patterns.pop())
    field = serializers.CharField()
    for char in ("a", " ", "\t", "\x1c", "\x1f", "\x85", "\xa0", "\u2000", "\u3000", "\ufeff", "\u200b"):
        try:
            field.run_validation(char)
            accepted = True
        except ValidationError:
            accepted = False
        assert bool(pattern.search(char)) == accepted, repr(char)
        assert bool(pattern.search(f" {char} ")) == accepted, repr(char)
    for code in range(0x110000):
        assert bool(pattern.search(chr(code))) != chr(code).isspace(), hex(code)
