"""The registry built from operations, and every customer tool through the HTTP endpoint."""

import json
import re

import pytest
from django.forms.models import model_to_dict
from jsonschema import Draft202012Validator
from rest_framework import serializers

from accounts.models import Customer
from core.context import Actor
from core.operations import Operation, all_operations
from mcp_gateway import registry
from mcp_gateway.models import ToolCall
from monitoring.models import RequestLog
from tests.concurrency import failures, run_threads
from tests.foundation.test_operation_descriptions import ADJUST_ERRORS, TRANSFER_ERRORS

pytestmark = pytest.mark.django_db

CARD = "4242 4242 4242 4242"


def test_every_operation_is_a_tool_with_a_complete_definition(mcp):
    listed = mcp.rpc("tools/list")["result"]["tools"]
    assert [t["name"] for t in listed] == [op.name for op in all_operations(door="mcp")]
    for tool in listed:
        op = registry.get_tool(tool["name"]).operation
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", tool["name"])
        assert tool["title"] == op.title and tool["description"].startswith(op.description)
        assert tool["annotations"] == {"title": op.title, "readOnlyHint": op.read_only,
                                       "destructiveHint": op.destructive and not op.read_only,
                                       "idempotentHint": True, "openWorldHint": op.open_world}
        schema = tool["inputSchema"]
        Draft202012Validator.check_schema(schema)
        Draft202012Validator.check_schema(tool["outputSchema"])
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert tool["outputSchema"]["type"] == "object"
        if op.read_only:
            assert "idempotency_key" not in schema["properties"]
        else:
            assert "idempotency_key" in schema["required"]


def test_input_schema_is_derived_from_the_rest_serializer():
    tool = registry.get_tool("create_customer")
    assert tool.input_schema == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email", "description": "The customer's e-mail address."},
            "name": {"type": "string", "maxLength": 200, "default": ""},
            "country": {"type": "string", "maxLength": 2, "pattern": "^([A-Za-z]{2})?$", "default": "",
                        "description": "ISO 3166-1 alpha-2 country code, e.g. DE."},
            "metadata": {"type": "object"},
            "idempotency_key": registry.IDEMPOTENCY_KEY_SCHEMA,
        },
        "additionalProperties": False,
        "required": ["email", "idempotency_key"],
    }
    listing = registry.get_tool("list_customers")
    assert listing.input_schema["properties"]["limit"] == {"type": "integer", "minimum": 1, "maximum": 100,
                                                           "default": 20}
    assert listing.input_schema["properties"]["status"] == {"enum": ["active", "blocked", "closed"]}
    assert "required" not in listing.input_schema
    assert listing.output_schema["required"] == ["data", "has_more", "next_cursor"]


def test_create_get_update_list_customer(mcp):
    created = mcp.ok("create_customer", {"email": "Ada@Example.com", "name": "Ada", "country": "gb",
                                         "metadata": {"tier": "gold"}, "idempotency_key": "c-1"})
    assert created["id"].startswith("cus_")
    assert {k: created[k] for k in ("object", "email", "name", "country", "status", "kyc_status", "metadata")} == {
        "object": "customer", "email": "ada@example.com", "name": "Ada", "country": "GB", "status": "active",
        "kyc_status": "unverified", "metadata": {"tier": "gold"}}
    assert mcp.ok("get_customer", {"customer_id": created["id"]}) == created
    updated = mcp.ok("update_customer", {"customer_id": created["id"], "status": "blocked",
                                         "idempotency_key": "u-1"})
    assert updated["status"] == "blocked" and updated["email"] == "ada@example.com"
    page = mcp.ok("list_customers", {"status": "blocked"})
    assert [c["id"] for c in page["data"]] == [created["id"]]
    assert page["has_more"] is False and page["next_cursor"] is None


def test_list_customers_pages_with_cursor(mcp):
    ids = [mcp.ok("create_customer", {"email": f"p{i}@example.com", "idempotency_key": f"p{i}"})["id"]
           for i in range(3)]
    first = mcp.ok("list_customers", {"limit": 2})
    assert [c["id"] for c in first["data"]] == ids[::-1][:2] and first["has_more"] is True
    second = mcp.ok("list_customers", {"limit": 2, "cursor": first["next_cursor"]})
    assert [c["id"] for c in second["data"]] == [ids[0]] and second["has_more"] is False
    assert mcp.error("list_customers", {"cursor": "garbage"})["code"] == "validation_error"


def test_write_is_idempotent_and_reuse_is_refused(mcp):
    args = {"email": "once@example.com", "idempotency_key": "same"}
    first = mcp.ok("create_customer", args)
    assert mcp.ok("create_customer", args) == first
    assert Customer.objects.count() == 1
    error = mcp.error("create_customer", {**args, "email": "other@example.com"})
    assert error["code"] == "idempotency_key_reuse"
    assert Customer.objects.count() == 1


def test_idempotency_key_is_shared_with_rest(mcp):
    from rest_framework.test import APIClient

    rest = APIClient()
    rest.credentials(HTTP_AUTHORIZATION=f"Bearer {mcp.raw_key}")
    response = rest.post("/api/v1/customers", {"email": "both@example.com"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="shared-1")
    assert response.status_code == 201
    again = mcp.ok("create_customer", {"email": "both@example.com", "idempotency_key": "shared-1"})
    assert again == response.json()
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(("tool", "args", "code", "details"), [
    ("get_customer", {"customer_id": "cus_missing"}, "not_found", {"customer_id": "cus_missing"}),
    ("get_customer", {"customer_id": "pay_wrongprefix"}, "not_found", {"customer_id": "pay_wrongprefix"}),
    ("update_customer", {"customer_id": "cus_missing", "name": "x", "idempotency_key": "k"}, "not_found",
     {"customer_id": "cus_missing"}),
    ("create_customer", {"email": "not-an-email", "idempotency_key": "k"}, "validation_error",
     {"fields": {"email": ["Enter a valid email address."]}}),
    ("create_customer", {"email": "a@example.com", "metadata": {"k": {"nested": 1}}, "idempotency_key": "k"},
     "validation_error",
     {"fields": {"metadata": ["Metadata keys are up to 40 characters; values are scalars up to 500."]}}),
    ("create_customer", {"email": "a@example.com", "idempotency_key": "k\n"}, "idempotency_key_invalid",
     {"max_length": 255}),
])
def test_domain_errors_are_is_error_results(mcp, tool, args, code, details):
    error = mcp.error(tool, args)
    assert error["code"] == code
    assert error["details"] == details
    assert isinstance(error["message"], str) and error["message"]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(("tool", "args", "fields"), [
    ("create_customer", {"email": "a@example.com"}, {"idempotency_key": ["This argument is required."]}),
    ("create_customer", {"idempotency_key": "k"}, {"email": ["This argument is required."]}),
    ("create_customer", {"email": "a@example.com", "idempotency_key": "k", "extra": 1},
     {"extra": ["Unknown argument."]}),
    ("create_customer", {"email": 5, "idempotency_key": "k"}, {"email": ["5 is not of type 'string'"]}),
    ("create_customer", {"email": "a@example.com", "idempotency_key": ""},
     {"idempotency_key": ["'' should be non-empty"]}),
    ("get_customer", {"customer_id": None}, {"customer_id": ["None is not of type 'string'"]}),
    ("get_customer", {}, {"customer_id": ["This argument is required."]}),
    ("list_customers", {"limit": 0}, {"limit": ["0 is less than the minimum of 1"]}),
    ("list_customers", {"limit": "5"}, {"limit": ["'5' is not of type 'integer'"]}),
    ("list_customers", {"status": "weird"}, {"status": ["'weird' is not one of ['active', 'blocked', 'closed']"]}),
    # A bound's refusal does not echo the value back (nor into the call log).
    ("create_customer", {"email": "a@example.com", "name": "x" * 100_000, "idempotency_key": "k"},
     {"name": ["At most 200 characters."]}),
])
def test_arguments_breaking_the_schema_are_validation_errors_and_run_nothing(mcp, tool, args, fields):
    error = mcp.error(tool, args)
    assert error == {"code": "validation_error", "message": f"Invalid arguments for tool {tool}.",
                     "details": {"fields": fields}}
    assert Customer.objects.count() == 0
    log = ToolCall.objects.get()
    assert (log.outcome, log.error_code) == ("invalid_params", "validation_error")


_NO_NAME = {"message": "tools/call needs params.name (a string).", "data": {"code": "tool_name_required"}}


@pytest.mark.parametrize(("params", "error", "logged"), [
    ({"name": "no_such_tool", "arguments": {}},
     {"message": "Unknown tool: no_such_tool", "data": {"code": "unknown_tool", "tool": "no_such_tool"}},
     [("no_such_tool", "invalid_params", "unknown_tool")]),
    ({"name": "get_customer", "arguments": ["cus_x"]},
     {"message": "params.arguments must be an object.", "data": {"code": "arguments_not_object"}}, []),
    # A card number sent as a name is not repeated back, nor stored.
    ({"name": "4242424242424242", "arguments": {}},
     {"message": "Unknown tool: [PAN ****4242]", "data": {"code": "unknown_tool", "tool": "[PAN ****4242]"}},
     [("[PAN ****4242]", "invalid_params", "unknown_tool")]),
    ({"name": "", "arguments": {}}, _NO_NAME, []),
    ({"arguments": {}}, _NO_NAME, []),
    ({"name": 5}, _NO_NAME, []),
])
def test_unknown_tool_or_non_object_arguments_are_32602_with_a_stable_code(mcp, params, error, logged):
    data = mcp.rpc("tools/call", params)
    assert data["error"] == {"code": -32602, **error}
    # Nothing ran. A call to an unknown tool is in the call log (an operator must see an agent's failed calls);
    # a call without a name, or with arguments that are not an object, is refused before it is a call of anything.
    assert list(ToolCall.objects.values_list("tool", "outcome", "error_code")) == logged


def test_a_call_to_an_unknown_tool_is_logged_with_card_numbers_masked_in_its_name_and_arguments(mcp, settings):
    """Both logs an operator reads (the call log, the request log) show the failed call, never a card number."""
    settings.REQUEST_LOG_ENABLED, settings.REQUEST_LOG_BACKGROUND = True, False
    body, headers = mcp.message("tools/call", {"name": "refund_4111 1111 1111 1111", "arguments": {
        "note": "5555555555554444", "4242424242424242": 1, "payment_id": "pay_x"}})
    response = mcp.post(body, {**headers, "X-Request-ID": "req_unknown_tool_1"})
    assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: refund_[PAN ****1111]",
                                        "data": {"code": "unknown_tool", "tool": "refund_[PAN ****1111]"}}
    call = ToolCall.objects.get()
    assert (call.tool, call.outcome, call.error_code, call.api_key_id, call.actor_label, call.request_id,
            call.protocol_version, call.dry_run, call.idempotency_key, call.approval_id) == (
        "refund_[PAN ****1111]", "invalid_params", "unknown_tool", mcp.api_key.pk, Actor.for_api_key(mcp.api_key).label,
        "req_unknown_tool_1", "2025-11-25", False, "", "")
    assert call.arguments == {"note": "[REDACTED]", "[PAN ****4242]": 1, "payment_id": "pay_x"}
    row = RequestLog.objects.get()
    assert (row.kind, row.method, row.tool, row.path, row.status, row.error_code, row.request_id, row.api_key_id) == (
        "mcp", "tools/call", "refund_[PAN ****1111]", "/mcp", 400, "unknown_tool", "req_unknown_tool_1",
        mcp.api_key.pk)
    assert row.request_body == {"note": "[PAN ****4444]", "[PAN ****4242]": 1, "payment_id": "pay_x"}
    stored = json.dumps([model_to_dict(call), model_to_dict(row)], default=str)
    for digits in ("4111 1111 1111 1111", "5555555555554444", "4242424242424242"):
        assert digits not in stored


@pytest.mark.parametrize(("name", "shown", "stored"), [
    # A 13-digit card number masks to 14 characters: the masked name can be longer than the name it masks.
    ("x" * 114 + "-4222222222222", "x" * 114 + "-[PAN ****2222]", "x" * 114 + "-[PAN ****2222"),
    ("y" * 300, "y" * 128, "y" * 128),
    # Text PostgreSQL cannot store would lose the row there.
    ("a\u0000b\ud800", "a\ufffdb\ufffd", "a\ufffdb\ufffd"),
])
def test_a_call_to_an_unknown_tool_is_stored_under_a_name_the_column_holds(mcp, name, shown, stored):
    assert mcp.rpc("tools/call", {"name": name})["error"]["data"]["tool"] == shown
    assert ToolCall.objects.get().tool == stored


def test_a_call_is_screened_once(mcp, api, monkeypatch):
    """The MCP door screens a call itself (scope, card data, unstorable text) before its schema check, and the
    operation does not do it again; REST leaves it to the operation. Either way the arguments are walked once."""
    import core.cards
    import core.text

    walks = {"card": 0, "text": 0}
    find_pan_field, unstorable_path = core.cards.find_pan_field, core.text.unstorable_path

    def counted(name, walk):
        def run(value, path=""):
            walks[name] += not path  # the outermost call: one walk of the arguments
            return walk(value, path)
        return run

    monkeypatch.setattr(core.cards, "find_pan_field", counted("card", find_pan_field))
    monkeypatch.setattr(core.text, "unstorable_path", counted("text", unstorable_path))
    import mcp_gateway.calls
    monkeypatch.setattr(mcp_gateway.calls, "unstorable_path", core.text.unstorable_path)

    mcp.ok("create_customer", {"email": "once@example.com", "metadata": {"note": "n"}, "idempotency_key": "once"})
    assert walks == {"card": 1, "text": 1}
    # A dry run screens once too, then simulates (here the simulated close finds no such wallet).
    preview = mcp.ok("close_wallet", {"wallet_id": "wal_missing", "idempotency_key": "dry", "dry_run": True})
    assert (preview["dry_run"], preview["operation"]) == (True, "close_wallet")
    assert walks == {"card": 2, "text": 2}
    assert api.post("/api/v1/customers", {"email": "rest@example.com"}, format="json").status_code == 201
    assert walks == {"card": 3, "text": 3}
    assert Customer.objects.count() == 2


def test_card_numbers_are_refused_and_never_logged(mcp):
    error = mcp.error("create_customer", {"email": "a@example.com", "metadata": {"note": CARD},
                                          "idempotency_key": "card"})
    assert error["code"] == "raw_card_data_not_allowed"
    assert error["details"] == {"field": "metadata.note"}
    log = ToolCall.objects.get()
    assert "4242" not in str(log.arguments)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(("tool", "arguments", "field"), [
    # An argument the tool does not have, named by a card number: refused as card data, not as an unknown argument
    # (whose error names it).
    ("create_customer", {"email": "a@example.com", "4111111111111111": "y", "idempotency_key": "k"},
     "<card number>"),
    # A card number as a metadata key in a call the schema refuses anyway (no idempotency key).
    ("create_customer", {"email": "a@example.com", "metadata": {"5555555555554444": "1"}}, "metadata.<card number>"),
    ("create_customer", {"email": 5, "metadata": {"4242-4242-4242-4242": "1"}, "idempotency_key": "k"},
     "metadata.<card number>"),
])
def test_a_card_number_as_a_name_is_refused_before_the_schema_and_never_echoed_or_logged(mcp, tool, arguments,
                                                                                          field):
    data = mcp.rpc("tools/call", {"name": tool, "arguments": arguments})
    result = data["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["code"] == "raw_card_data_not_allowed"
    assert result["structuredContent"]["error"]["details"] == {"field": field}
    answer = json.dumps(data)
    for digits in ("4111111111111111", "5555555555554444", "4242424242424242", "4242-4242-4242-4242"):
        assert digits not in answer
    log = ToolCall.objects.get()
    assert (log.outcome, log.error_code, log.arguments) == ("error", "raw_card_data_not_allowed",
                                                            {"[REDACTED]": "raw card data refused"})
    assert Customer.objects.count() == 0


def test_the_call_logs_redaction_masks_a_card_number_in_a_key():
    from mcp_gateway.calls import redact

    stored = redact({"wallet_id": "wal_x", "4111111111111111": "y", "metadata": {"5555 5555 5555 4444": "1"}})
    assert stored == {"wallet_id": "wal_x", "[PAN ****1111]": "y", "metadata": {"[PAN ****4444]": "1"}}


def test_a_call_refused_for_its_scope_logs_no_card_number(mcp_for):
    """Scope is checked before card data, so such a call is logged with its arguments as the log masks them."""
    data = mcp_for("payments:read").rpc("tools/call", {"name": "transfer_funds", "arguments": {
        "amount": 4242424242424242, "4111111111111111": 1, "metadata": {"note": "5555 5555 5555 4444"}}})
    assert data["result"]["structuredContent"]["error"]["code"] == "insufficient_scope"
    log = ToolCall.objects.get()
    assert (log.outcome, log.error_code) == ("error", "insufficient_scope")
    assert log.arguments == {"amount": "[REDACTED]", "[PAN ****1111]": 1, "metadata": {"note": "[REDACTED]"}}


@pytest.mark.parametrize(("arguments", "path"), [
    ({"email": "a@example.com", "metadata": {"k": "a\u0000b"}}, "metadata.k"),
    ({"email": "a@example.com", "metadata": {"a\ud800": "v"}}, "metadata.a\ud800"),
    ({"email": "a@example.com", "name": "x\udfff"}, "name"),
])
def test_text_postgres_cannot_store_is_a_validation_error(mcp, arguments, path):
    error = mcp.error("create_customer", {**arguments, "idempotency_key": "nul"})
    assert (error["code"], error["message"]) == ("validation_error", "Invalid arguments for tool create_customer.")
    assert error["details"] == {"fields": {path: ["Text may not contain NUL characters or unpaired surrogates."]}}
    assert Customer.objects.count() == 0
    assert ToolCall.objects.get().outcome == "invalid_params"


def test_every_call_is_logged_with_secrets_redacted(mcp):
    mcp.ok("create_customer", {"email": "log@example.com", "metadata": {"password": "hunter2",
                                                                          "api_key": mcp.raw_key,
                                                                          "note": f"key {mcp.raw_key}"},
                               "idempotency_key": "log-1"})
    mcp.error("get_customer", {"customer_id": "cus_nope"})
    rows = list(ToolCall.objects.order_by("created"))
    assert [(r.tool, r.outcome, r.error_code, r.api_key_id) for r in rows] == [
        ("create_customer", "success", "", mcp.api_key.pk), ("get_customer", "error", "not_found", mcp.api_key.pk)]
    first = rows[0]
    assert first.arguments == {"email": "log@example.com", "idempotency_key": "log-1",
                               "metadata": {"password": "[REDACTED]", "api_key": "[REDACTED]",
                                            "note": "key [REDACTED]"}}
    assert first.idempotency_key == "log-1" and first.protocol_version == "2025-11-25"
    assert first.duration_ms > 0 and first.request_id.startswith("req_")
    assert mcp.raw_key not in str(ToolCall.objects.values_list("arguments", flat=True))


def test_tools_list_pagination(mcp, settings):
    settings.MCP_TOOLS_PAGE_SIZE = 2
    names, cursor, pages = [], None, 0
    while True:
        result = mcp.rpc("tools/list", {"cursor": cursor} if cursor else {})["result"]
        names += [t["name"] for t in result["tools"]]
        pages += 1
        cursor = result.get("nextCursor")
        if not cursor:
            break
    assert names == [op.name for op in all_operations(door="mcp")]
    assert pages == -(-len(names) // 2)
    for bad in ("!!", "eyJvIjogLTF9", 5):
        assert mcp.rpc("tools/list", {"cursor": bad})["error"] == {"code": -32602, "message": "Invalid cursor.",
                                                                   "data": {"code": "invalid_cursor"}}


class _Out(serializers.Serializer):
    id = serializers.CharField()


def _boom(*, actor):
    raise RuntimeError("secret internals")


def test_unexpected_failure_is_32603_without_internals(mcp, register_op):
    register_op(Operation(name="zz_test_boom", title="Boom", description="Fails.", handler=_boom,
                          scope="payments:read", output=_Out))
    body, headers = mcp.message("tools/call", {"name": "zz_test_boom", "arguments": {}})
    response = mcp.post(body, headers)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == -32603 and "secret" not in response.content.decode()
    assert error["data"]["request_id"].startswith("req_")
    assert ToolCall.objects.get().outcome == "internal_error"


def test_tool_list_follows_registered_operations(mcp, mcp_for, register_op):
    register_op(Operation(name="zz_test_read", title="Read", description="Reads.", handler=_boom,
                          scope="wallets:read", output=_Out))
    assert "zz_test_read" in mcp.tool_names()
    assert "zz_test_read" in mcp_for("wallets:read").tool_names()
    assert "zz_test_read" not in mcp_for("payments:write").tool_names()


class _Card(serializers.Serializer):
    brand = serializers.CharField()
    last4 = serializers.CharField()


class _WithMethods(serializers.Serializer):
    id = serializers.CharField()
    card = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    count = serializers.SerializerMethodField()

    def get_card(self, obj) -> _Card(allow_null=True):
        return obj.get("card")

    def get_tags(self, obj) -> list[str]:
        return obj.get("tags", [])

    def get_count(self, obj) -> "int":
        return 3


def test_output_schema_of_method_fields_follows_their_annotations():
    from mcp_gateway.schemas import output_schema

    schema = output_schema(_WithMethods, many=False)
    props = schema["properties"]
    assert props["card"]["type"] == ["object", "null"]
    assert props["card"]["properties"]["last4"] == {"type": ["string", "null"]}
    assert props["tags"] == {"type": ["array", "null"]}
    assert props["count"] == {"type": ["integer", "null"]}
    validator = Draft202012Validator(schema)
    assert validator.is_valid(dict(_WithMethods({"id": "x", "card": {"brand": "visa", "last4": "4242"}}).data))
    assert validator.is_valid(dict(_WithMethods({"id": "x", "card": None}).data))
    assert not validator.is_valid({"id": "x", "card": "visa", "tags": [], "count": 3})


def _names():
    return [op.name for op in all_operations(door="mcp")]


# get_approval_status needs only some scope (a key sees its own requests): its own tests cover it.
@pytest.mark.parametrize("name", [n for n in _names() if n != "get_approval_status"])
def test_every_tool_refuses_a_key_without_its_scope(mcp_for, name):
    op = registry.get_tool(name).operation
    other_area = "monitoring:read" if not op.scope.startswith("monitoring") else "payments:read"
    client = mcp_for(other_area)
    assert name not in client.tool_names()
    error = client.error(name, {"anything": 1})
    assert error == {"code": "insufficient_scope", "message": "The API key lacks the scope this operation needs.",
                     "details": {"required_scope": op.scope}}
    log = ToolCall.objects.get()
    assert (log.tool, log.outcome, log.error_code) == (name, "error", "insufficient_scope")


@pytest.mark.parametrize("name", _names())
def test_every_tool_refuses_unknown_and_missing_arguments(mcp, name):
    schema = registry.get_tool(name).input_schema
    error = mcp.error(name, {"zz_not_an_argument": 1})
    expected = {"zz_not_an_argument": ["Unknown argument."]}
    expected.update({field: ["This argument is required."] for field in schema.get("required", [])})
    assert error == {"code": "validation_error", "message": f"Invalid arguments for tool {name}.",
                     "details": {"fields": expected}}


@pytest.mark.parametrize(("arguments", "stored"), [
    ({"metadata": {"shipping": "x", "pin": "1234", "otp_code": "9", "client_secret": "s", "note": "ok"}},
     {"metadata": {"shipping": "x", "pin": "[REDACTED]", "otp_code": "[REDACTED]", "client_secret": "[REDACTED]",
                   "note": "ok"}}),
    ({"payment_method": "tok_visa", "token": "abc"}, {"payment_method": "tok_visa", "token": "[REDACTED]"}),
    ({"list": ["4242 4242 4242 4242", "fine"]}, {"list": ["[REDACTED]", "fine"]}),
    ({"amount": 4242424242424242, "list": [5555555555554444, 12], "limit": 25, "rate": 1.5, "live": True},
     {"amount": "[REDACTED]", "list": ["[REDACTED]", 12], "limit": 25, "rate": 1.5, "live": True}),
])
def test_redaction_rules(arguments, stored):
    from mcp_gateway.calls import redact

    assert redact(arguments) == stored


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_key_from_parallel_agents_creates_once(roles, mcp_for):
    client = mcp_for("*")
    results = run_threads(6, lambda i: client.call("create_customer", {"email": "race@example.com",
                                                                       "idempotency_key": "race"}))
    assert failures(results) == []
    customer = Customer.objects.get()
    for result in results:
        if result.get("isError"):
            assert result["structuredContent"]["error"]["code"] == "idempotency_key_in_use"
        else:
            assert result["structuredContent"]["id"] == customer.pk
    assert any(not r.get("isError") for r in results)


def test_mcp_tools_describe_transfer_and_adjust_with_one_errors_list(mcp):
    tools = {t["name"]: t["description"] for t in mcp.rpc("tools/list")["result"]["tools"]}
    for name, errors in (("transfer_funds", TRANSFER_ERRORS), ("adjust_wallet", ADJUST_ERRORS)):
        assert tools[name].count("Errors:") == 1 and errors in tools[name], tools[name]
