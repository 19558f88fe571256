"""The MCP methods, for both protocol eras.

A request is *modern* (2026-07-28: no handshake, per-request `_meta`, `Mcp-Method` /
`Mcp-Name` headers, `resultType`, cache hints) when its `_meta` names a protocol version or
its `MCP-Protocol-Version` header is a modern one; anything else is *legacy* (2025-11-25 and
2025-06-18: `initialize`, `notifications/initialized`, `ping`). Both eras share the tools.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.conf import settings

from core import jsonparse
from core.context import Actor

from . import calls
from .redaction import shown
from .registry import all_tools, visible_to
from .rpc import (
    ACCEPTED_LEGACY_HEADERS,
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LATEST_LEGACY,
    LEGACY_RESOURCE_NOT_FOUND,
    LEGACY_VERSIONS,
    META_CAPABILITIES,
    META_SERVER_INFO,
    META_VERSION,
    METHOD_NOT_FOUND,
    MODERN_VERSIONS,
    UNSUPPORTED_PROTOCOL_VERSION,
    RpcError,
)

SERVER_INFO = {"name": "payments-backoffice", "title": "Payments back-office", "version": "1.0.0"}
INSTRUCTIONS = (
    "Tools of a payments back-office. Amounts are decimal strings in major units next to an ISO 4217 "
    "currency (\"10.50\" USD); ids carry type prefixes (cus_, pay_, wal_, apr_). Every tool that writes "
    "needs an idempotency_key: reuse it when retrying. Business failures come back as isError results "
    "with error.code. A call above a staff-set threshold returns status pending_approval with an "
    "approval_id: check it with get_approval_status. Destructive tools accept dry_run=true."
)
LIST_TTL_MS = 0  # the tool list depends on the key's scopes and can change with a deploy
NAME_HEADER_METHODS = {"tools/call": "name", "resources/read": "uri", "prompts/get": "name"}


class Call:
    """One request after transport checks: method, params, the era and who is calling."""

    def __init__(self, method: str, params: dict[str, Any], *, modern: bool, version: str, actor: Actor | None):
        self.method, self.params, self.modern, self.version, self.actor = method, params, modern, version, actor


def is_modern(request, params: dict[str, Any]) -> bool:
    meta = params.get("_meta")
    if isinstance(meta, dict) and META_VERSION in meta:
        return True
    return _header(request, "MCP-Protocol-Version") in MODERN_VERSIONS


def _header(request, name: str) -> str | None:
    value = request.headers.get(name)
    return value.strip() if value is not None else None


def _decode_name(value: str) -> str:
    if value.startswith("=?base64?") and value.endswith("?="):
        try:
            return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RpcError(HEADER_MISMATCH, "Mcp-Name is not valid Base64.", http_status=400) from None
    return value


def check_modern(request, method: str, params: dict[str, Any]) -> str:
    """Validate the modern era's headers and `_meta`; return the protocol version."""
    header_method = _header(request, "Mcp-Method")
    if header_method is None:
        raise RpcError(HEADER_MISMATCH, "Missing Mcp-Method header.", http_status=400)
    if header_method != method:
        raise RpcError(HEADER_MISMATCH, "Mcp-Method header does not match the body's method.",
                       {"header": header_method, "body": method}, http_status=400)
    meta = params.get("_meta")
    if not isinstance(meta, dict) or META_VERSION not in meta or not isinstance(meta.get(META_CAPABILITIES), dict):
        raise RpcError(INVALID_PARAMS, f"params._meta must carry {META_VERSION} and {META_CAPABILITIES}.",
                       http_status=400)
    version = meta[META_VERSION]
    # A header that disagrees with the body is a transport fault, whatever the version says.
    if _header(request, "MCP-Protocol-Version") != version:
        raise RpcError(HEADER_MISMATCH, "MCP-Protocol-Version header does not match params._meta.",
                       http_status=400)
    if version not in MODERN_VERSIONS:
        raise RpcError(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version.",
                       {"supported": list(MODERN_VERSIONS), "requested": version}, http_status=400)
    if method in NAME_HEADER_METHODS:
        expected = params.get(NAME_HEADER_METHODS[method])
        header_name = _header(request, "Mcp-Name")
        if header_name is None:
            raise RpcError(HEADER_MISMATCH, "Missing Mcp-Name header.", http_status=400)
        if _decode_name(header_name) != expected:
            raise RpcError(HEADER_MISMATCH, "Mcp-Name header does not match the body.", http_status=400)
    return version


def check_legacy(request) -> str:
    version = _header(request, "MCP-Protocol-Version")
    if version is None:
        return "2025-03-26"
    if version not in ACCEPTED_LEGACY_HEADERS:
        raise RpcError(INVALID_REQUEST, "Unsupported MCP-Protocol-Version.",
                       {"supported": [*MODERN_VERSIONS, *LEGACY_VERSIONS], "requested": version}, http_status=400)
    return version


def capabilities(modern: bool) -> dict[str, Any]:
    caps: dict[str, Any] = {"tools": {"listChanged": False}, "resources": {}, "prompts": {}}
    if not modern:
        caps["logging"] = {}
    return caps


# --- methods ---------------------------------------------------------------------------


def _initialize(call: Call) -> dict[str, Any]:
    requested = call.params.get("protocolVersion")
    return {"protocolVersion": requested if requested in LEGACY_VERSIONS else LATEST_LEGACY,
            "capabilities": capabilities(False), "serverInfo": SERVER_INFO, "instructions": INSTRUCTIONS}


def _discover(call: Call) -> dict[str, Any]:
    return {"supportedVersions": list(MODERN_VERSIONS), "capabilities": capabilities(True),
            "instructions": INSTRUCTIONS, "ttlMs": LIST_TTL_MS, "cacheScope": "private"}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = jsonparse.loads(base64.urlsafe_b64decode(padded.encode()))["o"]
    except (TypeError, ValueError, KeyError, binascii.Error):
        raise RpcError(INVALID_PARAMS, "Invalid cursor.", {"code": "invalid_cursor"}) from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise RpcError(INVALID_PARAMS, "Invalid cursor.", {"code": "invalid_cursor"})
    return offset


def _tools_list(call: Call) -> dict[str, Any]:
    tools = [tool.definition for tool in all_tools() if visible_to(tool, call.actor)]
    cursor = call.params.get("cursor")
    offset = _decode_cursor(cursor) if cursor is not None else 0
    size = getattr(settings, "MCP_TOOLS_PAGE_SIZE", 100)
    result: dict[str, Any] = {"tools": tools[offset:offset + size]}
    if offset + size < len(tools):
        result["nextCursor"] = _encode_cursor(offset + size)
    return result


def _tools_call(call: Call) -> dict[str, Any]:
    return calls.call_tool(call.params, actor=call.actor, protocol_version=call.version)


def _empty(key: str):
    def handler(call: Call) -> dict[str, Any]:
        if call.params.get("cursor") is not None:
            _decode_cursor(call.params["cursor"])
        return {key: []}
    return handler


def _resources_read(call: Call) -> dict[str, Any]:
    uri = call.params.get("uri")
    code = INVALID_PARAMS if call.modern else LEGACY_RESOURCE_NOT_FOUND
    raise RpcError(code, "Resource not found.",
                   {"code": "resource_not_found", **({"uri": shown(uri, 2048)} if isinstance(uri, str) else {})})


def _prompts_get(call: Call) -> dict[str, Any]:
    raise RpcError(INVALID_PARAMS, f"Unknown prompt: {shown(call.params.get('name'))}", {"code": "unknown_prompt"})


def _empty_result(call: Call) -> dict[str, Any]:
    return {}


SHARED = {
    "tools/list": _tools_list,
    "tools/call": _tools_call,
    "resources/list": _empty("resources"),
    "resources/templates/list": _empty("resourceTemplates"),
    "resources/read": _resources_read,
    "prompts/list": _empty("prompts"),
    "prompts/get": _prompts_get,
}
LEGACY = {**SHARED, "initialize": _initialize, "ping": _empty_result, "logging/setLevel": _empty_result}
MODERN = {**SHARED, "server/discover": _discover}
CACHED = {"tools/list", "resources/list", "resources/templates/list", "prompts/list", "resources/read"}


def dispatch(call: Call) -> dict[str, Any]:
    table = MODERN if call.modern else LEGACY
    handler = table.get(call.method)
    if handler is None:
        # Modern answers unknown (and removed legacy) methods with HTTP 404; legacy with 200.
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {shown(call.method, 100)}",
                       http_status=404 if call.modern else 200)
    result = handler(call)
    if call.modern:
        result["resultType"] = "complete"
        result.setdefault("_meta", {})[META_SERVER_INFO] = SERVER_INFO
        if call.method in CACHED:
            result.setdefault("ttlMs", LIST_TTL_MS)
            result.setdefault("cacheScope", "private")
    return result
