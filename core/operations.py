"""Operations: each public operation declared once, offered through every door.

An `Operation` names the handler (a service or selector), the serializers that validate its
input and render its output, the scope and permission it needs, and truthful flags. The REST
views (`core.rest`), the MCP tools (`mcp_gateway`), the authorisation-matrix tests and the
README's tool list are all built from this one table, so the doors cannot drift apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

from .cards import refuse_card_data
from .context import Actor
from .errors import DomainError, InsufficientScope, PermissionDenied, ValidationFailed
from .idempotency import WriteResult, execute_write
from .money import normalize_currency, parse_amount
from .pagination import Page
from .serializers import not_a_string, release_fields, with_copied_fields
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


_ERRORS_LABEL = "Errors:"


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    description: str
    handler: Callable[..., Any]
    scope: str
    input: type[serializers.Serializer[Any]] | None = None
    output: type[serializers.Serializer[Any]] | None = None
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
    # What a call is worth, for approval thresholds (required of `approvable` operations): called
    # with the `Call`, returns (amount in minor units or None for "the whole remainder", currency
    # or None). `amount_value(...)` covers an amount argument in major units.
    value: Callable[[Call], tuple[int | None, str | None]] | None = None

    def __post_init__(self) -> None:
        # OpenAPI and MCP clients read the one errors list; a description assembled from pieces must
        # not grow a second one.
        if self.description.count(_ERRORS_LABEL) > 1:
            raise ValueError(f"{self.name}: the description has more than one {_ERRORS_LABEL!r} list")

    @property
    def idempotent(self) -> bool:
        # Reads are naturally idempotent; writes are because they require a key on MCP.
        return True

    def render(self, result: Any) -> Any:
        if self.many:
            assert isinstance(result, Page)
            if self.output is None:
                items = list(result.items)
            else:
                serializer = _bound_output(self.output)
                items = [serializer.to_representation(item) for item in result.items]
            return {"data": items, "has_more": result.has_more, "next_cursor": result.next_cursor}
        if self.output is None:
            return result
        return dict(_bound_output(self.output).to_representation(result))


_bound = threading.local()


def _bound_output(cls: type[serializers.Serializer[Any]]) -> serializers.Serializer[Any]:
    """One instance of an output serializer per thread, its fields built once: DRF builds a serializer's fields
    anew for every instance it renders (model introspection, deep copies), which was half of what writing an
    event cost a transfer. Output serializers take no context and keep no per-call state (`to_representation`
    reads only its argument), so an instance can render any number of objects."""
    cache: dict[type[serializers.Serializer[Any]], serializers.Serializer[Any]] = _bound.__dict__.setdefault(
        "serializers", {}
    )
    serializer = cache.get(cls)
    if serializer is None:
        serializer = cache[cls] = cls()
    return serializer


_registry: dict[str, Operation] = {}


def register(op: Operation) -> Operation:
    if op.name in _registry and _registry[op.name] is not op:
        raise ValueError(f"Operation {op.name} declared twice.")
    if not op.doors or not set(op.doors) <= set(DOORS):
        raise ValueError(f"Operation {op.name}: doors must be among {DOORS}.")
    if op.approvable and op.value is None:
        raise ValueError(f"Operation {op.name} is approvable: declare value= (what a call is worth).")
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
    serializer = with_copied_fields(op.input(data=data)) if op.input is not None else None
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
    validated = dict(serializer.validated_data)
    release_fields(serializer)
    return validated


def _flatten_errors(errors: Any) -> Any:
    if isinstance(errors, dict):
        return {key: _flatten_errors(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [str(e) if not isinstance(e, dict | list) else _flatten_errors(e) for e in errors]
    return str(errors)


@dataclass
class Call:
    """One admitted call of an operation: who, the wire arguments, the validated input, and the
    object it acts on (read at most once per call, through the operation's `target` reader)."""

    op: Operation
    actor: Actor
    data: dict[str, Any]
    validated: dict[str, Any]
    _target: dict[str, Any] | None = field(default=None, repr=False)
    _target_read: bool = field(default=False, repr=False)

    def target(self) -> dict[str, Any] | None:
        """The target object as its read operation renders it (None when the operation declares no
        `target` or the call names no such object)."""
        if not self._target_read:
            self._target, self._target_read = self._read_target(), True
        return self._target

    def _read_target(self) -> dict[str, Any] | None:
        if self.op.target is None:
            return None
        reader = get_operation(self.op.target)
        fields = reader.input().fields if reader.input is not None else {}
        args = {name: self.data[name] for name in fields if name in self.data and name.endswith("_id")}
        if not args:
            return None
        body = invoke(reader, actor=self.actor, data=args).body
        return body if isinstance(body, dict) else None

    def value(self) -> tuple[int | None, str | None]:
        return self.op.value(self) if self.op.value is not None else (None, None)


def amount_value(amount: str = "amount",
                 currency: str | None = "currency") -> Callable[[Call], tuple[int | None, str | None]]:
    """`value=` of a call whose `amount` argument is in major units (as sent) of its `currency`
    argument or, without one (or with `currency=None`), of its target's currency. A call without an
    amount is worth "the whole remainder" (None)."""

    def value(call: Call) -> tuple[int | None, str | None]:
        code = call.data.get(currency) if currency else None
        if isinstance(code, str) and code:
            code = normalize_currency(code)
        else:
            state = call.target()
            code = state.get("currency") if state else None
        raw = call.data.get(amount)
        if raw is None or code is None:
            return None, code
        return parse_amount(raw, code), code

    return value


# The approval gate of `approvable` operations. `hold(call, idempotency_key=)` is consulted by
# `invoke` after validation and before the effect: None lets the call run, a WriteResult is the
# answer instead (e.g. 202 pending approval). `would_hold(call)` tells a dry run the threshold a
# real call would be held by (or None). The approvals app installs it (AppConfig.ready()): core
# may not import the layers above it.
_hold: Callable[..., WriteResult | None] | None = None
_would_hold: Callable[[Call], dict[str, Any] | None] | None = None


def install_approval_gate(*, hold: Callable[..., WriteResult | None],
                          would_hold: Callable[[Call], dict[str, Any] | None]) -> None:
    global _hold, _would_hold
    _hold, _would_hold = hold, would_hold


def admit(op: Operation, actor: Actor, data: dict[str, Any], *, screened: bool = False) -> dict[str, Any]:
    """What every call of `op` passes before it runs or is previewed: no card data or unstorable
    text, the actor's scope and permission, the input serializer. Returns the validated input.

    `screened`: the door already ran the first three on this very call, in its own order (MCP
    authorises before it reads the arguments, so a key that cannot see a tool learns nothing about
    them, and refuses card data before its schema check names an argument); they are not repeated."""
    if not screened:
        refuse_card_data(data)
        refuse_unstorable_text(data)
        authorize(op, actor)
    return validate_input(op, data)


def invoke(op: Operation, *, actor: Actor, data: dict[str, Any], idempotency_key: str | None = None,
           skip_gates: bool = False, screened: bool = False) -> WriteResult:
    """Authorise, validate, run (idempotently for writes) and render one operation call.

    `skip_gates` is for running a call that a gate already held and a person approved;
    `screened` as for `admit`.
    """
    validated = admit(op, actor, data, screened=screened)
    if op.approvable and not skip_gates and _hold is not None:
        held = _hold(Call(op, actor, data, validated), idempotency_key=idempotency_key)
        if held is not None:
            return held
    if op.read_only:
        return WriteResult(op.success_status, op.render(op.handler(actor=actor, **validated)))

    def effect() -> tuple[int, Any]:
        return op.success_status, op.render(op.handler(actor=actor, **validated))

    return execute_write(actor=actor, operation=op.name, key=idempotency_key, payload=data, effect=effect,
                         mode=op.idempotency_mode)


class _Rollback(Exception):
    pass


def simulate(op: Operation, *, actor: Actor, data: dict[str, Any], screened: bool = False) -> dict[str, Any]:
    """What a call would do, without doing it (dry runs at MCP, confirmation pages in the admin).

    Database-only operations run for real in a transaction that is always rolled back, so the
    answer is the true result or the true refusal (`mode: simulated`). An operation with a
    `preview` runs that instead (`mode: preview`). Operations that reach a provider (`open_world`)
    are never run: the answer is the current state of the target object (`mode: preview`,
    `would_succeed: None`); the target is shown for every call that reaches a provider. Refusals of
    the call itself (scope, input) raise as `invoke` does. `requires_approval` and
    `approval_threshold` say whether the approval gate would hold a real call.
    """
    validated = admit(op, actor, data, screened=screened)
    call = Call(op, actor, data, validated)
    outcome: dict[str, Any]
    preview = op.preview
    if preview is not None:
        outcome = _rolled_back("preview", lambda: op.render(preview(actor=actor, **validated)))
    elif op.open_world:
        outcome = {"mode": "preview", "would_succeed": None, "result": None, "error": None, "target": None}
    else:
        outcome = _rolled_back("simulated", lambda: op.render(op.handler(actor=actor, **validated)))
    if op.open_world:
        outcome["target"] = call.target()
    would_hold = _would_hold
    hold = would_hold(call) if op.approvable and would_hold is not None else None
    return {**outcome, "requires_approval": hold is not None, "approval_threshold": hold}


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
