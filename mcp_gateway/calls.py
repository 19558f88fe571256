"""`tools/call`: check the arguments against the tool's schema, run the operation through
`core.operations.invoke` (or a dry run), shape the MCP result and log the call.

Two error channels, as the spec has them:
- the request is malformed (no tool name, an unknown tool, `arguments` not an object)
  -> JSON-RPC `-32602` with a stable `data.code` (`tool_name_required`, `unknown_tool`,
  `arguments_not_object`), nothing runs;
- the arguments break the tool's input schema (unknown, missing or mistyped arguments), or
  the operation refuses (values, not_found, insufficient_scope, state conflicts, business
  refusals) -> a result with `isError: true` and the domain error object
  `{"error": {"code", "message", "details"}}`, the same body REST answers with
  (`validation_error` with `details.fields` for arguments). The spec puts input validation
  among tool execution errors so that the model can read them and correct the call.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.conf import settings
from jsonschema import Draft202012Validator

from core import operations
from core.cards import refuse_card_data
from core.context import Actor, current_request_id
from core.errors import DomainError, ValidationFailed
from core.idempotency import Outcome, WriteResult, outcome_written_with, validate_key
from core.operations import invoke, simulate
from core.text import MESSAGE as UNSTORABLE_MESSAGE
from core.text import unstorable_path
from monitoring import recorder, requestlog

from . import services
from .errors import NotAuthenticated
from .models import ToolCall
from .redaction import REDACTED, redact, shown
from .registry import Tool, get_tool
from .rpc import INVALID_PARAMS, RpcError

logger = logging.getLogger("mcp_gateway.calls")


def _result(body: Any, *, is_error: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"content": [{"type": "text", "text": json.dumps(body, ensure_ascii=False)}],
                              "structuredContent": body}
    if is_error:
        result["isError"] = True
    return result


def _error_result(exc: DomainError) -> dict[str, Any]:
    return _result({"error": exc.to_dict()}, is_error=True)


def _schema_errors(tool: Tool, arguments: dict[str, Any]) -> dict[str, list[str]]:
    """Violations of the input schema, per argument, in the REST `details.fields` shape."""
    fields: dict[str, list[str]] = {}
    for err in Draft202012Validator(tool.input_schema).iter_errors(arguments):
        if err.validator == "required" and not err.absolute_path:
            # One error per missing property, each carrying the whole `required` list.
            for name in err.validator_value:
                if name not in arguments:
                    fields[name] = ["This argument is required."]
        elif err.validator == "additionalProperties" and not err.absolute_path:
            known = tool.input_schema.get("properties", {})
            for name in arguments:
                if name not in known:
                    fields.setdefault(name, []).append("Unknown argument.")
        else:
            path = "/".join(str(p) for p in err.absolute_path) or "non_field_errors"
            fields.setdefault(path, []).append(_message(err))
    return fields


_BOUNDS = {"maxLength": "At most {} characters.", "maxItems": "At most {} items.",
           "maxProperties": "At most {} keys."}
MESSAGE_LIMIT = 200


def _message(err: Any) -> str:
    """jsonschema's message without the refused value when a bound refused it (a 100 KB argument is
    not echoed back, nor into the call log), and never longer than MESSAGE_LIMIT."""
    if err.validator in _BOUNDS:
        return _BOUNDS[err.validator].format(err.validator_value)
    text = str(err.message)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def dry_run(tool: Tool, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """What the call would do, without doing it (`core.operations.simulate`), and whether a real
    call would be held for approval."""
    op = tool.operation
    simulated = simulate(op, actor=actor, data=data, screened=True)  # _run screened the call
    return {"dry_run": True, "operation": op.name, "arguments": data,
            "requires_approval": simulated.pop("requires_approval"),
            "approval_threshold": simulated.pop("approval_threshold"), **simulated}


def call_tool(params: dict[str, Any], *, actor: Actor | None, protocol_version: str) -> dict[str, Any]:
    name = params.get("name")
    if not isinstance(name, str) or not name:
        raise RpcError(INVALID_PARAMS, "tools/call needs params.name (a string).", {"code": "tool_name_required"})
    arguments = params.get("arguments", {})
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise RpcError(INVALID_PARAMS, "params.arguments must be an object.", {"code": "arguments_not_object"})
    started = time.perf_counter()
    tool = get_tool(name)
    if tool is None:
        masked = shown(name)
        _record_unknown_tool(masked, arguments, actor, protocol_version, started)
        raise RpcError(INVALID_PARAMS, f"Unknown tool: {masked}", {"code": "unknown_tool", "tool": masked})

    log = _log_fields(tool.name, arguments, actor, protocol_version)

    def record_with_outcome(outcome: Outcome) -> None:
        # Run by the write in the transaction that records its outcome: the log row commits with it.
        _describe(outcome, log)
        _record(log, started)

    result: dict[str, Any] | None = None
    try:
        with outcome_written_with(record_with_outcome) as hook:
            try:
                result = _run(tool, arguments, actor, log)
            except Exception:
                log.update(outcome=ToolCall.Outcome.INTERNAL_ERROR, error_code="internal_error")
                raise
            finally:
                if not hook.written:
                    # Refused before the write, a read, a dry run, a held call, a failure: one statement of its own.
                    _record(log, started)
                _log_request(tool.name, actor, arguments, log, result, started)
    finally:
        # Per-tool latency in memory (monitoring.recorder): 200 answered, 400 refused, 500 failed.
        failures: dict[str, int] = {ToolCall.Outcome.INTERNAL_ERROR: 500, ToolCall.Outcome.ERROR: 400,
                                    ToolCall.Outcome.INVALID: 400}
        status = failures.get(str(log.get("outcome")), 200)
        if settings.MONITORING_REQUEST_METRICS:
            recorder.observe("mcp", tool.name, (time.perf_counter() - started) * 1000, status)
    return result


def _log_fields(tool_name: str, arguments: dict[str, Any], actor: Actor | None,
                protocol_version: str) -> dict[str, Any]:
    return {"tool": tool_name[:128], "arguments": redact(arguments), "protocol_version": protocol_version,
            "request_id": (current_request_id() or "")[:140], "api_key": actor.api_key if actor else None,
            "actor_label": actor.label[:200] if actor else "", "dry_run": arguments.get("dry_run") is True}


def _record_unknown_tool(masked_name: str, arguments: dict[str, Any], actor: Actor | None, protocol_version: str,
                         started: float) -> None:
    """A call to a tool that does not exist ran nothing, but an operator following an agent must see it (a
    misspelled or guessed tool name) in the call log and the request log like any other refused call. Stored under
    the name as the error repeats it (`shown`: a card number in it masked), never as sent. Not timed per tool in
    the metrics: a caller could make any number of names into series."""
    log = _log_fields(masked_name, arguments, actor, protocol_version)
    log.update(outcome=ToolCall.Outcome.INVALID, error_code="unknown_tool", dry_run=False)
    _record(log, started)
    _log_request(masked_name, actor, arguments, log, None, started)


def _note_key(tool: Tool, arguments: dict[str, Any], log: dict[str, Any]) -> None:
    """The call's idempotency key in its log, for a call refused before its arguments are read (the key says which
    of the caller's attempts it was), if it is one that may be stored."""
    key = arguments.get("idempotency_key")
    if tool.writes and key is not None:
        try:
            log["idempotency_key"] = validate_key(key, field="idempotency_key")
        except DomainError:
            pass  # not a key we store (a card number in it, too long): the log keeps none, as for a refused key


def _log_request(tool_name: str, actor: Actor | None, arguments: dict[str, Any], log: dict[str, Any],
                 result: dict[str, Any] | None, started: float) -> None:
    """The call in the request log (monitoring), next to REST requests: queued, written outside the call's
    transactions; its bodies redacted there (not its tool name: a known tool's, or an unknown one's as `shown`)."""
    requestlog.record_mcp_call(tool=tool_name, actor=actor, arguments=arguments, result=result,
                               outcome=str(log.get("outcome", ToolCall.Outcome.INTERNAL_ERROR)),
                               error_code=log.get("error_code", ""), idempotency_key=log.get("idempotency_key", ""),
                               duration_ms=(time.perf_counter() - started) * 1000)


def _record(log: dict[str, Any], started: float) -> None:
    log["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    try:
        services.tool_call_record(**log)
    except Exception:  # noqa: BLE001
        # The call's outcome already stands; a lost log row is reported, not turned into a failure.
        logger.exception("could not record tool call", extra={"tool": log.get("tool")})


def _describe(outcome: Outcome, log: dict[str, Any]) -> None:
    """The log's outcome fields for an answer of `invoke`."""
    if isinstance(outcome, DomainError):
        if outcome.code == "raw_card_data_not_allowed":
            log["arguments"] = {REDACTED: "raw card data refused"}
        log.update(outcome=ToolCall.Outcome.ERROR, error_code=outcome.code[:64])
    elif outcome.status == 202 and isinstance(outcome.body, dict) and "approval_id" in outcome.body:
        log.update(outcome=ToolCall.Outcome.PENDING_APPROVAL, approval_id=outcome.body["approval_id"])
    else:
        log.update(outcome=ToolCall.Outcome.SUCCESS)


def _refusal(exc: DomainError, log: dict[str, Any]) -> dict[str, Any]:
    _describe(exc, log)
    return _error_result(exc)


def _run(tool: Tool, arguments: dict[str, Any], actor: Actor | None, log: dict[str, Any]) -> dict[str, Any]:
    # Who may call comes first: a key that cannot see the tool learns nothing about its arguments.
    try:
        if actor is None:
            raise NotAuthenticated()
        operations.authorize(tool.operation, actor)  # insufficient_scope / permission_denied
    except DomainError as exc:
        return _refusal(exc, log)
    try:
        # Before the schema: its errors name the arguments, and a card number can be an argument's name.
        refuse_card_data(arguments)
    except DomainError as exc:
        _note_key(tool, arguments, log)
        return _refusal(exc, log)
    fields = _schema_errors(tool, arguments)
    if not fields and (bad := unstorable_path(arguments)):
        fields = {bad: [UNSTORABLE_MESSAGE]}
    if fields:
        # Reported as a tool error, not a protocol error: the model reads it and corrects the call.
        log.update(outcome=ToolCall.Outcome.INVALID, error_code="validation_error")
        return _error_result(ValidationFailed(fields, f"Invalid arguments for tool {tool.name}."))
    data = dict(arguments)
    key = data.pop("idempotency_key", None) if tool.writes else None
    dry = data.pop("dry_run", False) if tool.operation.destructive else False
    try:
        if key is not None:
            validate_key(key, field="idempotency_key")  # before the call log stores it
        log["idempotency_key"] = key or ""
        if dry:
            body = dry_run(tool, actor, data)
            log.update(outcome=ToolCall.Outcome.DRY_RUN)
            return _result(body)
        # Screened once, above (scope and permission, card data, unstorable text): admit does not do it again.
        written: WriteResult = invoke(tool.operation, actor=actor, data=data, idempotency_key=key, screened=True)
    except DomainError as exc:
        return _refusal(exc, log)
    _describe(written, log)
    return _result(written.body)
