"""The transport and lifecycle of /mcp/ in both eras, through Django's whole HTTP stack."""

import base64
import json

import pytest

from .conftest import LEGACY, MODERN, McpClient

pytestmark = pytest.mark.django_db

INIT = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}}


@pytest.mark.parametrize("method", ["get", "delete", "put"])
def test_methods_other_than_post_are_405(mcp, method):
    response = getattr(mcp.http, method)("/mcp/", headers=mcp.headers())
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["code"] == -32600


@pytest.mark.parametrize("path", ["/mcp/", "/mcp"])
def test_both_paths_answer_without_redirect_or_session(mcp, path):
    body, headers = mcp.message("initialize", INIT)
    response = mcp.post(body, headers, path=path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "Mcp-Session-Id" not in response
    result = response.json()["result"]
    assert result["protocolVersion"] == LEGACY
    assert result["serverInfo"] == {"name": "payments-backoffice", "title": "Payments back-office",
                                    "version": "1.0.0"}
    assert result["capabilities"] == {"tools": {"listChanged": False}, "resources": {}, "prompts": {},
                                      "logging": {}}
    assert "get_approval_status" in result["instructions"]


@pytest.mark.parametrize(("asked", "answered"), [("2025-06-18", "2025-06-18"), ("2025-11-25", "2025-11-25"),
                                                 ("2024-11-05", "2025-11-25"), ("1999-01-01", "2025-11-25")])
def test_initialize_echoes_supported_versions_else_latest_legacy(mcp, asked, answered):
    result = mcp.rpc("initialize", {**INIT, "protocolVersion": asked})["result"]
    assert result["protocolVersion"] == answered


def test_ping_and_logging_set_level_answer_empty(mcp):
    assert mcp.rpc("ping")["result"] == {}
    assert mcp.rpc("logging/setLevel", {"level": "info"})["result"] == {}


@pytest.mark.parametrize("body", [
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
    {"jsonrpc": "2.0", "id": 5, "result": {}},
    {"jsonrpc": "2.0", "id": 5, "error": {"code": -1, "message": "no"}},
])
def test_notifications_and_client_responses_get_202_without_body(mcp, body):
    response = mcp.post(body)
    assert response.status_code == 202
    assert response.content == b""
    # No body, so no type claimed for one (Django's default was text/html).
    assert "Content-Type" not in response
    assert response["Content-Length"] == "0"


def test_session_id_from_a_client_is_ignored(mcp):
    body, headers = mcp.message("ping")
    response = mcp.post(body, {**headers, "Mcp-Session-Id": "whatever"})
    assert response.status_code == 200 and response.json()["result"] == {}


@pytest.mark.parametrize(("raw", "status", "code", "echo"), [
    (b"{not json", 400, -32700, None),
    (b"", 400, -32700, None),
    (b"\xff\xfe", 400, -32700, None),
    (b"[]", 400, -32600, None),
    (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', 400, -32600, None),
    (b'"ping"', 400, -32600, None),
    (b'{"id":1,"method":"ping"}', 400, -32600, None),
    (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', 400, -32600, None),
    (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', 400, -32600, None),
    (b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', 400, -32600, None),
    (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', 400, -32600, None),
    (b'{"jsonrpc":"2.0","id":7,"method":42}', 400, -32600, 7),
    (b'{"jsonrpc":"2.0","id":"a","params":{}}', 400, -32600, "a"),
    (b'{"jsonrpc":"2.0","id":8,"method":"ping","params":[1]}', 400, -32602, 8),
])
def test_malformed_messages_get_json_rpc_errors(mcp, raw, status, code, echo):
    response = mcp.post(raw, {"MCP-Protocol-Version": LEGACY})
    assert response.status_code == status
    data = response.json()
    assert data == {"jsonrpc": "2.0", "id": echo, "error": {"code": code, "message": data["error"]["message"]}}


def test_legacy_unknown_method_is_200_with_method_not_found(mcp):
    data = mcp.rpc("completion/complete", {}, msg_id="x1")
    assert data["error"]["code"] == -32601
    assert data["id"] == "x1"


def test_legacy_unsupported_protocol_header_is_400(mcp):
    body, _ = mcp.message("ping")
    response = mcp.post(body, {"MCP-Protocol-Version": "1999-01-01"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600
    assert response.json()["error"]["data"]["requested"] == "1999-01-01"


def test_legacy_without_protocol_header_is_accepted(mcp):
    response = mcp.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, {})
    assert response.status_code == 200 and response.json()["result"] == {}


@pytest.mark.parametrize("origin", ["http://evil.example.com", "https://127.0.0.1.evil.com", "null", "file://"])
def test_foreign_origin_is_403(mcp, origin):
    body, headers = mcp.message("ping")
    response = mcp.post(body, {**headers, "Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == -32006


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "http://localhost:5173", "http://[::1]:9",
                                    "https://localhost"])
def test_loopback_origins_on_any_port_are_allowed(mcp, origin):
    body, headers = mcp.message("ping")
    assert mcp.post(body, {**headers, "Origin": origin}).status_code == 200


def test_configured_origin_is_allowed(mcp, settings):
    settings.MCP_ALLOWED_ORIGINS = ["https://agents.example.com"]
    body, headers = mcp.message("ping")
    assert mcp.post(body, {**headers, "Origin": "https://agents.example.com"}).status_code == 200


def test_body_over_one_mebibyte_is_413_json_rpc_error(mcp):
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * (1024 * 1024)}})
    response = mcp.post(big, {"MCP-Protocol-Version": LEGACY})
    assert response.status_code == 413
    assert response.json() == {"jsonrpc": "2.0", "id": None,
                               "error": {"code": -32004, "message": "Request body exceeds 1048576 bytes."}}


def test_body_of_exactly_one_mebibyte_is_served(mcp):
    envelope = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": ""}})
    body = envelope.replace('"pad": ""', '"pad": "' + "x" * (1024 * 1024 - len(envelope)) + '"')
    assert len(body.encode()) == 1024 * 1024
    response = mcp.post(body, {"MCP-Protocol-Version": LEGACY})
    assert response.status_code == 200
    assert response.json()["result"] == {}


# --- modern era ----------------------------------------------------------------------------


@pytest.fixture
def modern(mcp_for):
    return mcp_for("*", modern=True)


def test_server_discover(modern):
    result = modern.rpc("server/discover")["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"] == [MODERN]
    assert result["capabilities"] == {"tools": {"listChanged": False}, "resources": {}, "prompts": {}}
    assert result["ttlMs"] == 0 and result["cacheScope"] == "private"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "payments-backoffice"


@pytest.mark.parametrize("method", ["tools/list", "resources/list", "resources/templates/list", "prompts/list"])
def test_modern_lists_carry_result_type_and_cache_hints(modern, method):
    result = modern.rpc(method)["result"]
    assert result["resultType"] == "complete"
    assert result["ttlMs"] == 0 and result["cacheScope"] == "private"
    assert "io.modelcontextprotocol/serverInfo" in result["_meta"]


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe", "nope/nope"])
def test_modern_unknown_and_removed_methods_are_404(modern, method):
    data = modern.rpc(method, {}, status=404)
    assert data["error"]["code"] == -32601


def _modern_post(client, method, params=None, headers=None, drop=()):
    body, hdrs = client.message(method, params)
    hdrs.update(headers or {})
    for name in drop:
        hdrs.pop(name, None)
    return body, client.post(body, hdrs)


@pytest.mark.parametrize(("headers", "drop"), [
    ({}, ("Mcp-Method",)),
    ({"Mcp-Method": "tools/call"}, ()),
    ({"Mcp-Method": "TOOLS/LIST"}, ()),
    ({"MCP-Protocol-Version": "2025-11-25"}, ()),
    ({}, ("MCP-Protocol-Version",)),
])
def test_modern_header_missing_or_mismatched_is_400_32020(modern, headers, drop):
    body, response = _modern_post(modern, "tools/list", headers=headers, drop=drop)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020
    assert response.json()["id"] == body["id"]


def test_modern_header_names_are_case_insensitive_and_trailing_space_is_ok(modern):
    body, hdrs = modern.message("tools/list")
    response = modern.post(body, {"mcp-method": "tools/list ", "mcp-protocol-version": MODERN})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("name_header", "status"), [
    ("get_customer", 200), ("=?base64?" + base64.b64encode(b"get_customer").decode() + "?=", 200),
    ("GET_CUSTOMER", 400), ("other", 400), (None, 400), ("=?base64?!!!?=", 400),
])
def test_modern_mcp_name_header(modern, name_header, status):
    body, hdrs = modern.message("tools/call", {"name": "get_customer", "arguments": {"customer_id": "cus_x"}})
    hdrs.pop("Mcp-Name")
    if name_header is not None:
        hdrs["Mcp-Name"] = name_header
    response = modern.post(body, hdrs)
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == -32020


@pytest.mark.parametrize("meta", [
    {"io.modelcontextprotocol/protocolVersion": MODERN},
    {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": "x"},
])
def test_modern_incomplete_meta_is_400_32602(modern, meta):
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": meta}}
    response = modern.post(body, {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


def test_modern_header_without_meta_is_400_32602(modern):
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}
    response = modern.post(body, {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


def test_modern_unsupported_version_is_400_32022_with_lists(modern):
    body = {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}}
    response = modern.post(body, {"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32022
    assert response.json()["error"]["data"] == {"supported": [MODERN], "requested": "2099-01-01"}


def test_modern_resource_read_not_found_is_32602_legacy_is_32002(mcp, modern):
    data = {"code": "resource_not_found", "uri": "payment://pay_x"}
    modern_err = modern.rpc("resources/read", {"uri": "payment://pay_x"})["error"]
    assert modern_err == {"code": -32602, "message": "Resource not found.", "data": data}
    assert mcp.rpc("resources/read", {"uri": "payment://pay_x"})["error"] == {
        "code": -32002, "message": "Resource not found.", "data": data}


def test_names_and_uris_repeated_in_errors_have_card_numbers_masked(mcp, modern):
    pan = "4242 4242 4242 4242"
    assert mcp.rpc("prompts/get", {"name": pan})["error"]["message"] == "Unknown prompt: [PAN ****4242]"
    assert mcp.rpc("resources/read", {"uri": f"payment://{pan}"})["error"]["data"] == {
        "code": "resource_not_found", "uri": "payment://[PAN ****4242]"}
    # A modern client sends the URI in a header too: a card number in a header is refused before anything reads it.
    assert modern.rpc("resources/read", {"uri": f"payment://{pan}"}, status=400)["error"]["data"] == {
        "code": "raw_card_data_not_allowed", "field": "headers.Mcp-Name"}
    assert mcp.rpc(f"x/{pan}", {})["error"]["message"] == "Method not found: x/[PAN ****4242]"


def test_prompts_get_unknown_is_32602(mcp):
    assert mcp.rpc("prompts/get", {"name": "nope"})["error"] == {"code": -32602, "message": "Unknown prompt: nope",
                                                                 "data": {"code": "unknown_prompt"}}


def test_empty_lists_in_legacy(mcp):
    assert mcp.rpc("resources/list")["result"] == {"resources": []}
    assert mcp.rpc("resources/templates/list")["result"] == {"resourceTemplates": []}
    assert mcp.rpc("prompts/list")["result"] == {"prompts": []}
    assert mcp.rpc("resources/list", {"cursor": "bad!"})["error"] == {"code": -32602, "message": "Invalid cursor.",
                                                                      "data": {"code": "invalid_cursor"}}


def test_legacy_results_have_no_modern_fields(mcp):
    result = mcp.rpc("tools/list")["result"]
    assert "resultType" not in result and "ttlMs" not in result


def test_unauthenticated_client_cannot_even_ping():
    response = McpClient().post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 401
