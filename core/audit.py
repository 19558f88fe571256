"""The business audit recorder: call it inside the transaction of the change it records.

Every action is declared once, in its app's `audit.py`, as a `TextChoices` enum decorated with
`declare_actions`: the value is the action's name (`payment.captured`), the label says in words
what happened. `audit_record` refuses an action nobody declared, so a typo cannot write a name no
report will ever find. Names already written to the trail are never rewritten: a misspelt legacy
name is declared with `declare_alias(legacy, current)` so readers and reports fold it into the
current one (`canonical_action`).
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import models

from . import clock
from .context import Actor, get_context
from .errors import DomainError
from .heldrows import insert_later
from .models import AuditEvent as AuditEvent  # re-exported: the model the recorder writes

# action name -> (app label, description)
_declared: dict[str, tuple[str, str]] = {}
# legacy name -> current name
_aliases: dict[str, str] = {}


class UndeclaredAuditAction(DomainError):
    code = "undeclared_audit_action"
    status = 500
    default_message = "An audit action was recorded that no app declares."


def declare_actions(enum: type[models.TextChoices]) -> type[models.TextChoices]:
    """Class decorator: registers every member of an app's audit action enum."""
    app = enum.__module__.split(".")[0]
    for member in enum:
        owner = _declared.get(member.value)
        if owner is not None and owner[0] != app:
            raise ValueError(f"Audit action {member.value} declared by {owner[0]} and {app}.")
        _declared[member.value] = (app, str(member.label))
    return enum


def declare_alias(legacy: str, current: str) -> None:
    """A name already written to the trail that means `current` (never written again)."""
    if current not in _declared:
        raise ValueError(f"Alias {legacy} points at undeclared action {current}.")
    _aliases[legacy] = current


def canonical_action(name: str) -> str:
    return _aliases.get(name, name)


def declared_actions() -> dict[str, tuple[str, str]]:
    """action -> (app, description), sorted by action."""
    return dict(sorted(_declared.items()))


def action_aliases() -> dict[str, str]:
    return dict(sorted(_aliases.items()))


def audit_record(*, action: str, actor: Actor | None = None, obj: Any = None, object_type: str = "",
                 object_id: str = "", outcome: str = AuditEvent.Outcome.SUCCESS,
                 details: dict[str, Any] | None = None) -> AuditEvent:
    event = audit_build(action=action, actor=actor, obj=obj, object_type=object_type, object_id=object_id,
                        outcome=outcome, details=details)
    insert_later(event)
    return event


def audit_build(*, action: str, actor: Actor | None = None, obj: Any = None, object_type: str = "",
                object_id: str = "", outcome: str = AuditEvent.Outcome.SUCCESS,
                details: dict[str, Any] | None = None) -> AuditEvent:
    """The unsaved event `audit_record` would write, for callers that insert a batch with `bulk_create`."""
    action = str(action)
    if action not in _declared:
        raise UndeclaredAuditAction(f"Undeclared audit action {action!r}: declare it in its app's audit.py.",
                                    details={"action": action})
    ctx = get_context()
    actor = actor or ctx.actor or Actor.system()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent(
        occurred_at=clock.now(),
        action=action,
        outcome=outcome,
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:200],
        object_type=object_type,
        object_id=object_id,
        request_id=(ctx.request_id or "")[:140],
        ip_address=ctx.ip,
        user_agent=(ctx.user_agent or "")[:400],
        # A copy: the row may be written at the end of the transaction (core.heldrows), after the caller's
        # dict has changed.
        details=copy.deepcopy(details) if details else {},
    )
