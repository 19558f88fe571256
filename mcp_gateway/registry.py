"""The tool registry: one MCP tool per registered `core.operations.Operation`.

Nothing here is declared twice: name, title, description, schemas, hints and scope all come
from the operation (and its DRF serializers), so an app that registers an operation gets its
tool with no change to this package. The MCP-only parts are added uniformly: the required
`idempotency_key` on writes, `dry_run` on destructive tools, and the result shapes of a
held call and of a dry run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.errors import DomainError
from core.operations import ANY_SCOPE, Operation, all_operations, authorize, get_operation

from .schemas import input_schema, output_schema

IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "description": ("Required on every write. Reuse the same key to retry safely: the same key with the same "
                    "arguments returns the first result without a second effect (kept 24 h); the same key "
                    "with different arguments is refused with idempotency_key_reuse."),
}
DRY_RUN_SCHEMA = {
    "type": "boolean", "default": False,
    "description": "true: report what would happen (amounts, resulting state) without changing anything.",
}
PENDING_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {"enum": ["pending_approval", "rejected", "expired"]},
        "approval_id": {"type": "string", "pattern": "^apr_"},
        "operation": {"type": "string"},
        "amount": {"type": ["string", "null"]},
        "currency": {"type": ["string", "null"]},
        "expires_at": {"type": "string", "format": "date-time"},
    },
    "required": ["status", "approval_id"],
}
DRY_RUN_RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "dry_run": {"const": True},
        "operation": {"type": "string"},
        "mode": {"enum": ["simulated", "preview"]},
        "would_succeed": {"type": ["boolean", "null"]},
        "result": {"type": ["object", "null"]},
        "error": {"type": ["object", "null"]},
        "target": {"type": ["object", "null"]},
        "arguments": {"type": "object"},
        "requires_approval": {"type": "boolean"},
        "approval_threshold": {"type": ["object", "null"]},
    },
    "required": ["dry_run", "operation", "mode", "would_succeed", "requires_approval"],
}


@dataclass(frozen=True)
class Tool:
    operation: Operation
    definition: dict[str, Any]

    @property
    def name(self) -> str:
        return self.operation.name

    @property
    def writes(self) -> bool:
        return not self.operation.read_only

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.definition["inputSchema"]

    @property
    def output_schema(self) -> dict[str, Any]:
        return self.definition["outputSchema"]


def _description(op: Operation) -> str:
    notes = [op.description.strip()]
    if op.scope == ANY_SCOPE:
        notes.append("Needs an API key with any scope.")
    else:
        notes.append(f"Needs scope {op.scope}.")
    notes.append("Amounts are decimal strings in major units next to their currency; ids keep their prefixes.")
    if op.read_only:
        notes.append("Read-only.")
    else:
        notes.append("Writes: pass idempotency_key and reuse it when you retry.")
    if op.destructive:
        notes.append("Destructive: dry_run=true previews the outcome without changing anything.")
    if op.approvable:
        notes.append("A call above a staff-set threshold does not run: it returns status pending_approval with "
                     "an approval_id; follow it with get_approval_status.")
    if op.open_world:
        notes.append("Calls an external payment provider.")
    notes.append("Failures come back as isError results with error.code (e.g. validation_error, not_found, "
                 "insufficient_scope).")
    return " ".join(notes)


def build_tool(op: Operation) -> Tool:
    schema = copy.deepcopy(input_schema(op.input))
    if not op.read_only:
        schema["properties"].setdefault("idempotency_key", IDEMPOTENCY_KEY_SCHEMA)
        schema["required"] = [*schema.get("required", []), "idempotency_key"]
    if op.destructive:
        schema["properties"].setdefault("dry_run", DRY_RUN_SCHEMA)
    result_schema = output_schema(op.output, many=op.many)
    variants = [result_schema]
    if op.approvable:
        variants.append(PENDING_SCHEMA)
    if op.destructive:
        variants.append(DRY_RUN_RESULT_SCHEMA)
    if len(variants) > 1:
        result_schema = {"type": "object", "anyOf": variants}
    definition = {
        "name": op.name,
        "title": op.title,
        "description": _description(op),
        "inputSchema": {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema},
        "outputSchema": result_schema,
        "annotations": {
            "title": op.title,
            "readOnlyHint": op.read_only,
            "destructiveHint": bool(op.destructive and not op.read_only),
            # Reads are naturally idempotent; writes are because idempotency_key is required.
            "idempotentHint": True,
            "openWorldHint": op.open_world,
        },
    }
    return Tool(operation=op, definition=definition)


@lru_cache(maxsize=256)
def _tool_for(op: Operation) -> Tool:
    return build_tool(op)


def all_tools() -> list[Tool]:
    """Every tool, in name order (deterministic, as the spec asks of tools/list)."""
    return [_tool_for(op) for op in all_operations("mcp")]


def get_tool(name: str) -> Tool | None:
    try:
        op = get_operation(name)
    except KeyError:
        return None
    return _tool_for(op) if "mcp" in op.doors else None


def visible_to(tool: Tool, actor) -> bool:
    """Whether `core.operations.authorize` lets this actor call the tool."""
    if actor is None:
        return True  # authentication switched off for conformance runs: list everything
    try:
        authorize(tool.operation, actor)
    except DomainError:
        return False
    return True
