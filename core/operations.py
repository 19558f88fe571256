"""Operations: each public operation declared once, offered through every door.

An `Operation` names the handler (a service or selector), the serializers that validate its
input and render its output, the scope and permission it needs, and truthful flags. The REST
views (`core.rest`), the MCP tools (`mcp_gateway`), the authorisation-matrix tests and the
README's tool list are all built from this one table, so the doors cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

from .cards import refuse_card_data
from .context import Actor
from .errors import DomainError, InsufficientScope, PermissionDenied, ValidationFailed
from .idempotency import WriteResult, execute_write
from .pagination import Page
from .serializers import not_a_string
from .text import refuse_unstorable_text

AREAS = ("payments", "wallets", "subscriptions", "risk", "compliance", "monitoring", "analytics", "events",
         "webhooks")
DOORS = ("rest", "mcp", "admin")
ALL_SCOPES = tuple(f"{area}:{level}" for area in AREAS for level in ("read", "write")) + ("*",)


# An operation whose handler itself limits the caller to its own objects (e.g. the status of
# the caller's own approval requests) needs no particular scope, only some scope.
ANY_SCOPE = "any"


def scope_allows(granted: list[str] | tuple[str, ...], required: str) -> bool:
    if required == ANY_SCOPE:
        return bool(granted)
    if "*" in granted or required in granted:
        return True
    area, _, level = required.partition(":")
    return level == "read" and f"{area}:write" in granted


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    description: str
    handler: Callable[..., Any]
    scope: str
    input: type[serializers.Serializer] | None = None
    output: type[serializers.Serializer] | None = None
    permission: str | None = None
    read_only: bool = True
    destructive: bool = False
    open_world: bool = False
    success_status: int = 200
    many: bool = False
    approvable: bool = False
    idempotency_mode: str = "db"
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Same arguments as the handler; writes nothing and returns what the call would do (dry_run).
    preview: Callable[..., Any] | None = None
    # Which doors offer it: REST views are declared in urls.py, MCP tools and admin actions are
    # built from the table; an operation for integrators and staff only leaves out "mcp".
    doors: frozenset[str] = frozenset(DOORS)
    # The read-only operation that renders the object this call acts on (its `<object>_id` input
    # is named as in this operation's input): dry runs show it, approvals read its currency.
    target: str | None = None
    # What a call is worth, for approval thresholds: called as value(actor=, **validated input),
    # returns (amount in minor units or None for "the whole remainder", currency or None).
    value: Callable[..., tuple[int | None, str | None]] | None = None

    @property
    def idempotent(self) -> bool:
        # Reads are naturally idempotent; writes are because they require a key on MCP.
        return True

    def render(self, result: Any) -> Any:
        if self.many:
            assert isinstance(result, Page)
            items = self.output(result.items, many=True).data if self.output else result.items
            return {"data": list(items), "has_more": result.has_more, "next_cursor": result.next_cursor}
        if self.output is None:
            return result
        return dict(self.output(result).data)


_registry: dict[str, Operation] = {}


def register(op: Operation) -> Operation:
    if op.name in _registry and _registry[op.name] is not op:
        raise ValueError(f"Operation {op.name} declared twice.")
    if not op.doors or not set(op.doors) <= set(DOORS):
        raise ValueError(f"Operation {op.name}: doors must be among {DOORS}.")
    _registry[op.name] = op
    return op


def get_operation(name: str) -> Operation:
    return _registry[name]


def all_operations(door: str | None = None) -> list[Operation]:
    """Every operation (or those a door offers), by name."""
    return sorted((op for op in _registry.values() if door is None or door in op.doors), key=lambda op: op.name)


def authorize(op: Operation, actor: Actor) -> None:
    """A key can do what its scopes allow and its owner's role permits, both."""
    if actor.api_key is not None and not scope_allows(actor.api_key.scopes, op.scope):
        raise InsufficientScope(details={"required_scope": op.scope})
    if op.permission and actor.user is not None and not actor.user.has_perm(op.permission):
        raise PermissionDenied(details={"required_permission": op.permission})
    if actor.user is None and actor.kind in ("user", "api_key"):
        raise PermissionDenied()


UNKNOWN_FIELD = "Unknown field."
NOT_A_STRING = "Not a valid string."


def validate_input(op: Operation, data: dict[str, Any]) -> dict[str, Any]:
    """The operation's input serializer, strict: a field it does not declare (a misspelt option
    must not fall back to a default that moves money) and a number where it expects text are
    validation errors naming them. Path parameters arrive in `data` as declared fields."""
    serializer = op.input(data=data) if op.input is not None else None
    fields = {name: f for name, f in serializer.fields.items() if not f.read_only} if serializer else {}
    problems: dict[str, list[str]] = {}
    for name, value in data.items():
        field = fields.get(name)
        if field is None:
            problems[str(name)] = [UNKNOWN_FIELD]
        elif not_a_string(field, value):
            problems[name] = [NOT_A_STRING]
    if problems:
        raise ValidationFailed(problems)
    if serializer is None:
        return {}
    if not serializer.is_valid():
        raise ValidationFailed(_flatten_errors(serializer.errors))
    return dict(serializer.validated_data)


def _flatten_errors(errors: Any) -> Any:
    if isinstance(errors, dict):
        return {key: _flatten_errors(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [str(e) if not isinstance(e, dict | list) else _flatten_errors(e) for e in errors]
    return str(errors)


# Gates for `approvable` operations, consulted by `invoke` after validation and before the
# effect: each is called as gate(op=, actor=, data=, validated=, idempotency_key=) and returns
# None (let the call run) or a WriteResult to answer instead (e.g. 202 pending approval).
# Higher layers register theirs (mcp_gateway, in its AppConfig.ready()): core may not import them.
approval_gates: list[Callable[..., WriteResult | None]] = []


def admit(op: Operation, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """What every call of `op` passes before it runs or is previewed: no card data or unstorable
    text, the actor's scope and permission, the input serializer. Returns the validated input."""
    refuse_card_data(data)
    refuse_unstorable_text(data)
    authorize(op, actor)
    return validate_input(op, data)


def invoke(op: Operation, *, actor: Actor, data: dict[str, Any], idempotency_key: str | None = None,
           skip_gates: bool = False) -> WriteResult:
    """Authorise, validate, run (idempotently for writes) and render one operation call.

    `skip_gates` is for running a call that a gate already held and a person approved.
    """
    validated = admit(op, actor, data)
    if op.approvable and not skip_gates:
        for gate in approval_gates:
            held = gate(op=op, actor=actor, data=data, validated=validated, idempotency_key=idempotency_key)
            if held is not None:
                return held
    if op.read_only:
        return WriteResult(op.success_status, op.render(op.handler(actor=actor, **validated)))

    def effect():
        return op.success_status, op.render(op.handler(actor=actor, **validated))

    return execute_write(actor=actor, operation=op.name, key=idempotency_key, payload=data, effect=effect,
                         mode=op.idempotency_mode)


class _Rollback(Exception):
    pass


def target_state(op: Operation, actor: Actor, data: dict[str, Any]) -> dict[str, Any] | None:
    """The object `op`'s call acts on, rendered by its declared `target` read operation (None when the
    operation declares none or the call names no such object)."""
    if op.target is None:
        return None
    reader = get_operation(op.target)
    fields = reader.input().fields if reader.input is not None else {}
    args = {name: data[name] for name in fields if name in data and name.endswith("_id")}
    if not args:
        return None
    body = invoke(reader, actor=actor, data=args).body
    return body if isinstance(body, dict) else None


def simulate(op: Operation, *, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """What a call would do, without doing it (dry runs at MCP, confirmation pages in the admin).

    Database-only operations run for real in a transaction that is always rolled back, so the
    answer is the true result or the true refusal (`mode: simulated`). An operation with a
    `preview` runs that instead (`mode: preview`). Operations that reach a provider (`open_world`)
    are never run: the answer is the current state of the target object (`mode: preview`,
    `would_succeed: None`). Refusals of the call itself (scope, input) raise as `invoke` does.
    """
    validated = admit(op, actor, data)
    if op.preview is not None:
        return _rolled_back("preview", lambda: op.render(op.preview(actor=actor, **validated)))
    if op.open_world:
        return {"mode": "preview", "would_succeed": None, "result": None, "error": None,
                "target": target_state(op, actor, data)}
    return _rolled_back("simulated", lambda: op.render(op.handler(actor=actor, **validated)))


def _rolled_back(mode: str, run: Callable[[], Any]) -> dict[str, Any]:
    from django.db import transaction

    outcome: dict[str, Any] = {}
    try:
        with transaction.atomic():
            try:
                outcome["result"] = run()
            except DomainError as exc:
                outcome["error"] = exc.to_dict()
            raise _Rollback
    except _Rollback:
        pass
    return {"mode": mode, "would_succeed": "error" not in outcome, "result": outcome.get("result"),
            "error": outcome.get("error"), "target": None}
