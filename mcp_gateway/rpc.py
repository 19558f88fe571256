"""JSON-RPC 2.0 and MCP wire constants, errors and message shapes."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Implementation-defined (-32000..-32019): the HTTP-level refusals of this server.
UNAUTHORIZED = -32001
RATE_LIMITED = -32003
REQUEST_TOO_LARGE = -32004
SERVICE_UNAVAILABLE = -32005
FORBIDDEN_ORIGIN = -32006
LEGACY_RESOURCE_NOT_FOUND = -32002
# Reserved by the 2026-07-28 revision.
HEADER_MISMATCH = -32020
MISSING_CLIENT_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022

MODERN_VERSION = "2026-07-28"
MODERN_VERSIONS = (MODERN_VERSION,)
LEGACY_VERSIONS = ("2025-11-25", "2025-06-18")
LATEST_LEGACY = "2025-11-25"
# A legacy client that omits the header is assumed to speak this (spec: SHOULD assume 2025-03-26).
ACCEPTED_LEGACY_HEADERS = (*LEGACY_VERSIONS, "2025-03-26")

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

MAX_BODY_BYTES = 1024 * 1024


class RpcError(Exception):
    """A JSON-RPC error answer, with the HTTP status it travels with."""

    def __init__(self, code: int, message: str, data: Any = None, *, http_status: int = 200,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data
        self.http_status, self.headers = http_status, headers or {}

    def body(self, request_id: Any) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return {"jsonrpc": "2.0", "id": request_id, "error": error}


def error_response(exc: RpcError, request_id: Any = None) -> JsonResponse:
    response = JsonResponse(exc.body(request_id), status=exc.http_status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def result_response(request_id: Any, result: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"jsonrpc": "2.0", "id": request_id, "result": result})


def accepted() -> HttpResponse:
    """202 Accepted with no body (Streamable HTTP, for a notification or a client's response). Django gives every
    response `text/html; charset=utf-8`, which would claim an HTML body that is not there."""
    response = HttpResponse(status=202)
    del response["Content-Type"]
    return response


def valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
