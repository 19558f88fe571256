"""The business audit recorder: call it inside the transaction of the change it records."""

from __future__ import annotations

from typing import Any

from . import clock
from .context import Actor, get_context
from .models import AuditEvent


def audit_record(*, action: str, actor: Actor | None = None, obj: Any = None, object_type: str = "",
                 object_id: str = "", outcome: str = AuditEvent.Outcome.SUCCESS,
                 details: dict | None = None) -> AuditEvent:
    event = audit_build(action=action, actor=actor, obj=obj, object_type=object_type, object_id=object_id,
                        outcome=outcome, details=details)
    event.save(force_insert=True)
    return event


def audit_build(*, action: str, actor: Actor | None = None, obj: Any = None, object_type: str = "",
                object_id: str = "", outcome: str = AuditEvent.Outcome.SUCCESS,
                details: dict | None = None) -> AuditEvent:
    """The unsaved event `audit_record` would write, for callers that insert a batch with `bulk_create`."""
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
        details=details or {},
    )
