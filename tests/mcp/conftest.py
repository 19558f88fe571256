import json
from typing import Any

import pytest
from django.test import Client
from jsonschema import Draft202012Validator, FormatChecker

from core import operations as core_operations
from mcp_gateway import registry

MODERN = "2026-07-28"
LEGACY = "2025-11-25"


class McpClient:
    """Posts JSON-RPC to /mcp/ through Django's full stack, in either protocol era."""

    def __init__(self, raw_key: str | None = None, *, modern: bool = False):
        self.http = Client()
        self.raw_key = raw_key
        self.modern = modern
        self._ids = 0

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream"}
        if self.raw_key:
            headers["Authorization"] = f"Bearer {self.raw_key}"
        headers.update(extra or {})
        return headers

    def post(self, body: Any, headers: dict[str, str] | None = None, path: str = "/mcp/"):
        raw = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.http.post(path, data=raw, content_type="application/json", headers=self.headers(headers))

    def message(self, method: str, params: dict | None = None, msg_id: Any = None) -> tuple[dict, dict]:
        params = dict(params or {})
        headers: dict[str, str] = {}
        if self.modern:
            params["_meta"] = {"io.modelcontextprotocol/protocolVersion": MODERN,
                               "io.modelcontextprotocol/clientCapabilities": {},
                               "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "1"},
                               **params.get("_meta", {})}
            headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
            name_field = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}.get(method)
            if name_field:
                headers["Mcp-Name"] = params[name_field]
        else:
            headers = {"MCP-Protocol-Version": LEGACY}
        if msg_id is None:
            self._ids += 1
            msg_id = self._ids
        return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}, headers

    def rpc(self, method: str, params: dict | None = None, *, status: int = 200, msg_id: Any = None) -> dict:
        body, headers = self.message(method, params, msg_id)
        response = self.post(body, headers)
        assert response.status_code == status, (response.status_code, response.content[:2000])
        data = response.json()
        assert data["jsonrpc"] == "2.0" and data["id"] == body["id"]
        return data

    def call(self, tool: str, arguments: dict | None = None) -> dict:
        data = self.rpc("tools/call", {"name": tool, "arguments": arguments or {}})
        assert "result" in data, data
        result = data["result"]
        assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
        if not result.get("isError"):
            assert_valid_output(tool, result["structuredContent"])
        return result

    def ok(self, tool: str, arguments: dict | None = None) -> dict:
        result = self.call(tool, arguments)
        assert not result.get("isError"), result
        return result["structuredContent"]

    def error(self, tool: str, arguments: dict | None = None) -> dict:
        result = self.call(tool, arguments)
        assert result.get("isError") is True, result
        return result["structuredContent"]["error"]

    def tool_names(self) -> list[str]:
        return [t["name"] for t in self.rpc("tools/list")["result"]["tools"]]


def assert_valid_output(tool_name: str, structured: Any) -> None:
    tool = registry.get_tool(tool_name)
    Draft202012Validator.check_schema(tool.output_schema)
    errors = list(Draft202012Validator(tool.output_schema, format_checker=FormatChecker()).iter_errors(structured))
    assert not errors, [e.message for e in errors]


@pytest.fixture
def mcp_for(make_key):
    def make(scopes="*", role="admin", *, modern=False, **key_kwargs):
        created = make_key(scopes, role=role, **key_kwargs)
        client = McpClient(created.raw_key, modern=modern)
        client.api_key = created.api_key
        return client

    return make


@pytest.fixture
def mcp(mcp_for):
    return mcp_for("*")


@pytest.fixture
def register_op():
    """Register test-only operations for one test; they disappear afterwards."""
    added: list[str] = []

    def register(op):
        core_operations.register(op)
        added.append(op.name)
        return op

    yield register
    for name in added:
        core_operations._registry.pop(name, None)
