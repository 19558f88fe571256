"""The request log's operations (names are the MCP tool names: a contract)."""

from __future__ import annotations

from typing import Any

from core.context import Actor
from core.operations import Operation, register
from core.pagination import Page

from . import requestlog
from .models import RequestLog
from .serializers_requestlog import (
    RequestLogIdInput,
    RequestLogListInput,
    RequestLogSerializer,
    RequestLogSummarySerializer,
)

TAGS = ("monitoring",)


def _list(*, actor: Actor, **filters: Any) -> Page:
    return requestlog.request_log_list(**filters)


def _get(*, actor: Actor, request_log_id: str) -> RequestLog:
    return requestlog.request_log_get(request_log_id=request_log_id)


register(Operation(
    name="list_request_logs", title="List request log entries",
    description=("Lists the request log (rlog_) newest first: every REST request under /api/ and every MCP tool "
                 "call of the last 30 days, with kind (rest, mcp), api_key {id, name}, user {id, username}, "
                 "method, route pattern or tool, path, status, duration_ms, request_id, idempotency_key and "
                 "error_code. Bodies are not in the list: get_request_log shows them (redacted). Filter by "
                 "api_key_id (key_...), status (404 or a class: 4xx), route (\"POST /api/v1/transfers\"), tool, "
                 "kind, method, error_code, request_id and time (created_gte, created_lte, ISO 8601); page with "
                 "limit (max 100) and cursor. Read-only. Errors: validation_error."),
    handler=_list, scope="monitoring:read", permission="monitoring.view_requestlog",
    input=RequestLogListInput, output=RequestLogSummarySerializer, many=True, tags=TAGS,
))
register(Operation(
    name="get_request_log", title="Get a request log entry",
    description=("One request log entry by its rlog_ id, with the request's query, request_body and "
                 "response_body as stored: secrets (passwords, tokens, keys), card numbers and personal data "
                 "(e-mails, names, phones, addresses) redacted, each body cut at 16384 characters of its JSON "
                 "(then a string, and request_truncated / response_truncated true). Read-only. Errors: "
                 "not_found."),
    handler=_get, scope="monitoring:read", permission="monitoring.view_requestlog",
    input=RequestLogIdInput, output=RequestLogSerializer, tags=TAGS,
))
