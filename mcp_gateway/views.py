"""`/mcp/`: JSON-RPC 2.0 over Streamable HTTP, hand-written in Django (why: docs/MCP.md).

Sessionless and JSON-only: every request gets one `application/json` answer, notifications
and client responses get 202, GET and DELETE get 405 (no server-initiated stream), and no
`Mcp-Session-Id` is issued (one sent by a client is ignored). Whatever the body holds, the
answer is a JSON-RPC message, never a Django error page.
"""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core import jsonparse
from core.cards import refuse_card_data_in_headers
from core.context import current_request_id
from core.errors import RawCardDataNotAllowed

from . import auth
from .protocol import Call, check_legacy, check_modern, dispatch, is_modern
from .rpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    MAX_BODY_BYTES,
    PARSE_ERROR,
    REQUEST_TOO_LARGE,
    SERVICE_UNAVAILABLE,
    RpcError,
    accepted,
    error_response,
    result_response,
    valid_id,
)

logger = logging.getLogger("mcp_gateway")


@csrf_exempt
def mcp_endpoint(request):
    request_id = None
    try:
        if request.method != "POST":
            response = error_response(RpcError(INVALID_REQUEST, "Use POST; this server opens no SSE stream.",
                                               http_status=405))
            response["Allow"] = "POST"
            return response
        auth.check_origin(request)
        body = _read_body(request)
        actor = auth.authenticate(request)
        auth.check_rate(request, actor)
        # Every message, a notification's 202 and a malformed body's -32700 included, after the key and its rate
        # as at REST (an anonymous caller gets 401 first there too), before the body is read for anything.
        refused = _card_data_in_headers(request, body)
        if refused is not None:
            return refused
        message = _parse(body)
        if isinstance(message, JsonResponse | type(None)):
            return message or accepted()
        request_id = message["id"]
        params = message["params"]
        modern = is_modern(request, params)
        version = check_modern(request, message["method"], params) if modern else check_legacy(request)
        result = dispatch(Call(message["method"], params, modern=modern, version=version, actor=actor))
        return result_response(request_id, result)
    except RpcError as exc:
        return error_response(exc, request_id)
    except OperationalError:
        logger.exception("database unavailable")
        return error_response(RpcError(SERVICE_UNAVAILABLE, "A required service is unavailable; retry later.",
                                       {"code": "service_unavailable", "request_id": current_request_id()},
                                       http_status=503), request_id)
    except Exception:
        logger.exception("unhandled MCP error")
        return error_response(RpcError(INTERNAL_ERROR, "Internal error.",
                                       {"code": "internal_error", "request_id": current_request_id()},
                                       http_status=500), request_id)


def is_mcp_path(path: str) -> bool:
    return path == "/mcp" or path.startswith("/mcp/")


def refused_request(code: str, message: str, *, status: int = 400, details: dict | None = None) -> JsonResponse:
    """A request refused before this view ran (by Django or the server: config.errors): a JSON-RPC error like this
    view's own refusals, with no id (the body is not read: nothing of the request is trusted)."""
    return error_response(RpcError(INVALID_REQUEST, message, {"code": code, **(details or {})}, http_status=status))


def _card_data_in_headers(request, body: bytes) -> JsonResponse | None:
    """REST's refusal of a card number in a header, as a JSON-RPC error; None when there is none."""
    try:
        refuse_card_data_in_headers(request.headers)
    except RawCardDataNotAllowed as exc:
        return error_response(RpcError(INVALID_REQUEST, exc.message, {"code": exc.code, **exc.details},
                                       http_status=400), _request_id_of(body))
    return None


def _request_id_of(body: bytes):
    """The id a refusal of the whole message answers: a request's own, so the client can match it; none for a
    notification, a client's response or a body that is no request."""
    try:
        message = _parse(body)
    except RpcError:
        return None
    return message["id"] if isinstance(message, dict) else None


def _read_body(request) -> bytes:
    too_large = RpcError(REQUEST_TOO_LARGE, f"Request body exceeds {MAX_BODY_BYTES} bytes.", http_status=413)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise too_large
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body


def _parse(body: bytes):
    """The request as a dict with a valid id, method and params; or a response to send now
    (None: a notification or a client's response, answered 202)."""
    try:
        message = jsonparse.loads(body)
    except jsonparse.NestedTooDeep as exc:
        raise RpcError(PARSE_ERROR, f"Parse error: {exc}", http_status=400) from None
    except jsonparse.InvalidJson:
        raise RpcError(PARSE_ERROR, "Parse error: the body is not valid JSON.", http_status=400) from None
    if isinstance(message, list):
        raise RpcError(INVALID_REQUEST, "Batches are not supported; send one JSON-RPC message.", http_status=400)
    if not isinstance(message, dict):
        raise RpcError(INVALID_REQUEST, "The body must be a JSON-RPC 2.0 object.", http_status=400)
    has_id, msg_id = "id" in message, message.get("id")
    echo = msg_id if valid_id(msg_id) else None
    if message.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, 'jsonrpc must be "2.0".', http_status=400)
    method = message.get("method")
    if method is None and has_id and ("result" in message or "error" in message):
        return None  # a response to a server request: nothing to answer
    if not isinstance(method, str) or not method:
        return error_response(RpcError(INVALID_REQUEST, "method must be a non-empty string.", http_status=400), echo)
    if not has_id:
        return None  # a notification
    if not valid_id(msg_id):
        raise RpcError(INVALID_REQUEST, "id must be a string or an integer.", http_status=400)
    params = message.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return error_response(RpcError(INVALID_PARAMS, "params must be an object.", http_status=400), msg_id)
    return {"id": msg_id, "method": method, "params": params}
