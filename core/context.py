"""Who is acting and on behalf of which request, for the duration of a request or task.

Services still take `actor=` explicitly; this context is what logs and the audit recorder
read when they need the request id, the client address or a default actor.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    kind: str  # "user", "api_key", "task", "system"
    id: str
    label: str
    user: Any = field(default=None, compare=False, repr=False)
    api_key: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls(kind="user", id=str(user.pk), label=user.get_username(), user=user)

    @classmethod
    def for_api_key(cls, api_key: Any) -> Actor:
        return cls(kind="api_key", id=str(api_key.pk), label=f"{api_key.prefix} ({api_key.owner.get_username()})",
                   user=api_key.owner, api_key=api_key)

    @classmethod
    def for_task(cls, name: str) -> Actor:
        return cls(kind="task", id=name, label=f"task:{name}")

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind="system", id=name, label=name)

    def as_dict(self) -> dict[str, str]:
        return {"type": self.kind, "id": self.id, "label": self.label}

    @property
    def idempotency_scope(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass
class RequestContext:
    request_id: str | None = None
    actor: Actor | None = None
    ip: str | None = None
    user_agent: str | None = None


_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("bo_request_context", default=None)


def get_context() -> RequestContext:
    ctx = _context.get()
    if ctx is None:
        ctx = RequestContext()
        _context.set(ctx)
    return ctx


def bind_context(**values: Any) -> RequestContext:
    ctx = get_context()
    for key, value in values.items():
        setattr(ctx, key, value)
    return ctx


def clear_context() -> None:
    _context.set(None)


def current_actor() -> Actor | None:
    return get_context().actor


def current_request_id() -> str | None:
    return get_context().request_id
