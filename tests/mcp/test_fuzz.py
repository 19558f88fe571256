"""Random and malformed JSON-RPC: always a JSON-RPC answer (or 202), never a 500."""

import json
import random
import string

import pytest

from .conftest import LEGACY, MODERN

pytestmark = pytest.mark.django_db

METHODS = ["initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read", "prompts/list",
           "prompts/get", "server/discover", "logging/setLevel", "notifications/initialized", "", "x" * 300,
           "tools/call\x00", "../../etc", "subscriptions/listen"]
TOOLS = ["create_customer", "get_customer", "list_customers", "update_customer", "get_approval_status", "nope"]


def _scalar(rng):
    return rng.choice([None, True, False, 0, -1, 2**70, 1.5, float("1e308"), "", "cus_x", "pay_",
                       "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40))),
                       "4242424242424242", "\u202e\ud7ff", "a\u0000b", "\ud800", "x" * 5000])


def _value(rng, depth=0):
    kind = rng.random()
    if depth > 3 or kind < 0.5:
        return _scalar(rng)
    if kind < 0.75:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["name", "arguments", "cursor", "_meta", "uri", "protocolVersion", "amount", "email",
                        "customer_id", "idempotency_key", "limit", "dry_run", "x"]): _value(rng, depth + 1)
            for _ in range(rng.randint(0, 5))}


def _message(rng):
    if rng.random() < 0.5:
        # A well-formed envelope, so the fuzzing reaches the methods and the tools behind it.
        msg = {"jsonrpc": "2.0", "id": rng.randint(1, 10**6), "method": rng.choice(["tools/call"] * 4 + METHODS)}
        if msg["method"] == "tools/call" and rng.random() < 0.8:
            arguments = _value(rng)
            msg["params"] = {"name": rng.choice(TOOLS), "arguments": arguments if rng.random() < 0.3 else
                             {rng.choice(["email", "customer_id", "limit", "cursor", "idempotency_key", "status",
                                          "name", "metadata", "approval_id", "x"]): _value(rng, 2)
                              for _ in range(rng.randint(0, 5))}}
            return msg
    else:
        msg = {"jsonrpc": rng.choice(["2.0", "2.0", "2.0", "1.0", None, 2]),
               "id": rng.choice([1, "a", None, 1.5, True, [], {}, 2**63]),
               "method": rng.choice(METHODS + [None, 5, []])}
    params = _value(rng)
    if rng.random() < 0.6:
        params = {"name": rng.choice(TOOLS), "arguments": _value(rng)} if rng.random() < 0.7 else params
    if rng.random() < 0.3:
        params = params if isinstance(params, dict) else {}
        params["_meta"] = {"io.modelcontextprotocol/protocolVersion": rng.choice([MODERN, LEGACY, "2099", 5]),
                           "io.modelcontextprotocol/clientCapabilities": rng.choice([{}, None, "x"])}
    if rng.random() < 0.9:
        msg["params"] = params
    for key in list(msg):
        if rng.random() < 0.1:
            del msg[key]
    return msg


def _raw(rng):
    choice = rng.random()
    if choice < 0.6:
        return json.dumps(_message(rng)).encode()
    if choice < 0.7:
        return json.dumps([_message(rng) for _ in range(rng.randint(0, 3))]).encode()
    if choice < 0.8:
        good = json.dumps(_message(rng)).encode()
        cut = rng.randint(0, len(good))
        return good[:cut] + bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 5))) + good[cut:]
    if choice < 0.9:
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 200)))
    return json.dumps(_value(rng)).encode()


def _headers(rng, body):
    headers = {}
    if rng.random() < 0.4:
        return {"MCP-Protocol-Version": LEGACY}
    try:
        message = json.loads(body)
        meta = message["params"]["_meta"]
        if rng.random() < 0.6 and isinstance(message["method"], str):
            # Consistent modern headers, so the generator reaches the methods behind them.
            return {"MCP-Protocol-Version": str(meta["io.modelcontextprotocol/protocolVersion"]),
                    "Mcp-Method": message["method"], "Mcp-Name": str(message["params"].get("name", ""))}
    except (ValueError, KeyError, TypeError):
        pass
    if rng.random() < 0.5:
        headers["MCP-Protocol-Version"] = rng.choice([MODERN, LEGACY, "2025-06-18", "garbage", " "])
    if rng.random() < 0.4:
        headers["Mcp-Method"] = rng.choice(METHODS[:6] + ["=?base64?x?="])
    if rng.random() < 0.3:
        headers["Mcp-Name"] = rng.choice(TOOLS + ["=?base64?Z2V0X2N1c3RvbWVy?=", "=?base64?%%?="])
    return headers


def _assert_json_rpc(response):
    assert response.status_code < 500, response.content[:500]
    if response.status_code == 202:
        assert response.content == b""
        return
    data = json.loads(response.content)
    assert data["jsonrpc"] == "2.0" and "id" in data
    assert ("result" in data) != ("error" in data)
    if "error" in data:
        assert isinstance(data["error"]["code"], int) and isinstance(data["error"]["message"], str)
        assert response.status_code in (200, 400, 404)
    else:
        assert response.status_code == 200


def test_random_bodies_never_crash(mcp):
    rng = random.Random(20261126)
    statuses, tool_results = set(), 0
    for _ in range(400):
        body = _raw(rng)
        response = mcp.post(body, _headers(rng, body))
        _assert_json_rpc(response)
        statuses.add(response.status_code)
        tool_results += response.status_code == 200 and b"structuredContent" in response.content
    # The generator reaches every kind of answer, including tool calls that ran.
    assert {200, 202, 400} <= statuses <= {200, 202, 400, 404, 413}
    assert tool_results >= 10


@pytest.mark.parametrize("body", [
    b"[" * 100000 + b"]" * 100000,
    b'{"a":' * 50000 + b"1" + b"}" * 50000,
    b'{"jsonrpc":"2.0","id":1,"method":"ping","params":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b"\x00" * 100,
    "{\"jsonrpc\":\"2.0\",\"id\":\"\u00e9\",\"method\":\"ping\"}".encode("utf-16"),
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_customer","arguments":'
    b'{"customer_id":"' + b"\\ud800" + b'"}}}',
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_customers","arguments":'
    b'{"limit":1e999}}}',
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_customers","arguments":'
    b'{"limit":NaN}}}',
    b'{"jsonrpc":"2.0","id":99999999999999999999999,"method":"ping"}',
])
def test_pathological_bodies(mcp, body):
    _assert_json_rpc(mcp.post(body, {"MCP-Protocol-Version": LEGACY}))
