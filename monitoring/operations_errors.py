"""The error log's operations (names are MCP tool names: a contract)."""

from __future__ import annotations

from typing import Any

from core.context import Actor
from core.operations import Operation, register
from core.pagination import Page

from . import errorlog
from .models import ErrorGroup
from .serializers_errors import (
    ErrorGroupDetailSerializer,
    ErrorGroupSerializer,
    ErrorIdInput,
    ErrorListInput,
    ErrorLogInput,
)

TAGS = ("monitoring",)


def _list(*, actor: Actor, **filters: Any) -> Page:
    return errorlog.error_group_list(**filters)


def _get(*, actor: Actor, error_id: str) -> ErrorGroup:
    return errorlog.error_group_get(error_id=error_id)


register(Operation(
    name="log_error", title="Log an error",
    description=("Reports an error to the error log: message, level (debug, info, warning, error, fatal; default "
                 "error), source (the component or logger), details (tags and context, at most 8 KiB), and "
                 "optionally exception_type and stack (text). Errors are grouped: the same exception type raised "
                 "from the same frames (from a Python stack), or the same source and message with only ids and "
                 "numbers differing, add to one group (errg_) whose count, last_seen and sample move; a resolved "
                 "group reopens. Card numbers are refused; secrets and e-mail addresses are redacted before "
                 "storing. Returns the group. Audited as error.reported. Errors: validation_error, "
                 "raw_card_data_not_allowed."),
    handler=errorlog.error_log, scope="monitoring:write", permission="monitoring.add_errorgroup",
    input=ErrorLogInput, output=ErrorGroupSerializer, read_only=False, success_status=201, tags=TAGS,
))
register(Operation(
    name="get_errors", title="List error groups",
    description=("Lists error groups (errg_) most recently seen first: title, level, culprit, source, count, "
                 "first_seen, last_seen, resolved and the last occurrence's sample (request_id, route, message, "
                 "traceback; redacted). Filter with resolved (true/false), level and since (ISO 8601, last seen "
                 "at or after); page with limit (max 100) and cursor. Read-only. Errors: validation_error."),
    handler=_list, scope="monitoring:read", permission="monitoring.view_errorgroup",
    input=ErrorListInput, output=ErrorGroupSerializer, many=True, tags=TAGS,
))
register(Operation(
    name="get_error", title="Get an error group",
    description=("Returns one error group by its errg_ id with counts, first and last seen, resolution, the "
                 "last occurrence's redacted sample and recent_occurrences (the newest 20: occurred_at, level, "
                 "request_id, route, message, details). Read-only. Errors: not_found."),
    handler=_get, scope="monitoring:read", permission="monitoring.view_errorgroup",
    input=ErrorIdInput, output=ErrorGroupDetailSerializer, tags=TAGS,
))
register(Operation(
    name="resolve_error", title="Resolve an error group",
    description=("Marks an error group (errg_) resolved; the next occurrence of the error reopens it (the count "
                 "keeps growing). Audited as error_group.resolved. Errors: not_found, error_already_resolved (409)."),
    handler=errorlog.error_group_resolve, scope="monitoring:write", permission="monitoring.resolve_errorgroup",
    input=ErrorIdInput, output=ErrorGroupSerializer, read_only=False, target="get_error", tags=TAGS,
))
