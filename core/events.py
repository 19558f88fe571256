"""Events: every business change written as an immutable `evt_` row in the transaction of the change.

Each app declares its event types once, in its `events.py`, as a `TextChoices` enum decorated with
`declare_events(scope=, permission=)`: the value is the type (`payment.created`), the label says what
happened, the scope and permission are those of reading the object (a key sees an event only when it
could read its object). The same module says how its objects are rendered (`declare_object`), as the
REST API renders them (`render_as("get_payment_status")`), so `data.object` is what an integrator
would have fetched at that moment.

`emit(type, obj, previous=..., actor=)` runs inside the change's use case and writes one row
(`emit_many` one statement for a batch's events). Higher layers subscribe (`subscribe`) to turn events
into work (webhook deliveries): the relay (`manage.py outbox_relay`) hands them each batch of events
not yet dispatched (`dispatch_pending`), after the change committed, so a change pays for its event
row and nothing else; the domains that emit never import the subscribers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from rest_framework.utils.encoders import JSONEncoder

from . import clock
from .context import Actor, get_context
from .db import require_transaction
from .errors import DomainError
from .heldrows import insert_later
from .rawrows import insert_many


@dataclass(frozen=True)
class EventType:
    name: str
    app: str
    description: str
    scope: str
    permission: str


_declared: dict[str, EventType] = {}
# model label (app_label.model) -> renderer of that model's objects
_renderers: dict[str, Callable[[Any], Any]] = {}
_subscribers: list[Callable[[list[Any]], None]] = []


class UndeclaredEventType(DomainError):
    code = "undeclared_event_type"
    status = 500
    default_message = "An event was emitted that no app declares."


class UnrenderableObject(DomainError):
    code = "unrenderable_event_object"
    status = 500
    default_message = "An event was emitted for an object no app says how to render."


def declare_events(*, scope: str, permission: str) -> Callable[[type[models.TextChoices]], type[models.TextChoices]]:
    """Class decorator: registers every member of an app's event type enum, readable with `scope`
    (an API key's) and `permission` (its owner's or a staff member's)."""

    def decorate(enum: type[models.TextChoices]) -> type[models.TextChoices]:
        app = enum.__module__.split(".")[0]
        for member in enum:
            owner = _declared.get(member.value)
            if owner is not None and owner.app != app:
                raise ValueError(f"Event type {member.value} declared by {owner.app} and {app}.")
            _declared[member.value] = EventType(member.value, app, str(member.label), scope, permission)
        return enum

    return decorate


def declare_object(model: type[models.Model], render: Callable[[Any], Any]) -> None:
    """How events render `model`'s objects: `render(obj)` returns what REST returns for it."""
    _renderers[model._meta.label_lower] = render


def render_as(operation: str) -> Callable[[Any], Any]:
    """A renderer through the output serializer of the read operation that REST serves the object with."""

    def render(obj: Any) -> Any:
        from .operations import get_operation

        return get_operation(operation).render(obj)

    return render


def subscribe(fn: Callable[[list[Any]], None]) -> None:
    """`fn(events)` is given every event once, in batches, in the relay's transaction that marks them
    dispatched (registered from AppConfig.ready())."""
    if fn not in _subscribers:
        _subscribers.append(fn)


def declared_events() -> dict[str, EventType]:
    return dict(sorted(_declared.items()))


def event_type(name: str) -> EventType:
    if name not in _declared:
        raise UndeclaredEventType(f"Undeclared event type {name!r}: declare it in its app's events.py.",
                                  details={"type": name})
    return _declared[name]


def readable_types(actor: Actor) -> list[str]:
    """The event types whose objects `actor` could read: the key's scopes and its owner's permissions."""
    from .operations import scope_allows

    key, user = actor.api_key, actor.user
    return [name for name, declared in _declared.items()
            if (key is None or scope_allows(key.scopes, declared.scope))
            and (user is None or user.has_perm(declared.permission))]


def _plain(data: Any) -> Any:
    # Exactly the JSON REST would send (decimal strings, Z times, ids), stored as such.
    return json.loads(json.dumps(data, cls=JSONEncoder))


def render_object(obj: Any) -> dict[str, Any]:
    renderer = _renderers.get(obj._meta.label_lower)
    if renderer is None:
        raise UnrenderableObject(details={"model": obj._meta.label_lower})
    rendered: dict[str, Any] = _plain(renderer(obj))
    return rendered


def snapshot(obj: Any) -> dict[str, Any]:
    """The object as rendered now: pass it as `previous=` to the update's `emit`."""
    return render_object(obj)


def build(type: str, obj: Any, *, previous: dict[str, Any] | None = None, actor: Actor | None = None) -> Any:
    """The unsaved event of a change (`emit` and `emit_many` save it)."""
    from .models import Event

    declared = event_type(str(type))
    rendered = render_object(obj)
    data: dict[str, Any] = {"object": rendered}
    if previous is not None:
        data["previous_attributes"] = {key: value for key, value in previous.items() if rendered.get(key) != value}
    ctx = get_context()
    actor = actor or ctx.actor or Actor.system()
    return Event(type=declared.name, created=clock.now(), object_type=obj._meta.label_lower,
                 object_id=str(obj.pk), data=data, request_id=(ctx.request_id or "")[:140],
                 actor_type=actor.kind, actor_id=actor.id[:64], actor_label=actor.label[:200])


def emit(type: str, obj: Any, *, previous: dict[str, Any] | None = None, actor: Actor | None = None,
         deliver: bool = True) -> Any:
    """Writes the event of a change, in the change's transaction. `previous` is the `snapshot` taken
    before an update: the attributes that changed go into `data.previous_attributes`. `deliver=False`
    keeps subscribers from seeing it (a test event sent to one endpoint)."""
    require_transaction()
    event = build(type, obj, previous=previous, actor=actor)
    if not deliver:
        event.dispatched_at = event.created
    insert_later(event)
    return event


def emit_many(events: list[Any]) -> list[Any]:
    """Writes events `build` made (a batch's), in one statement, in the change's transaction."""
    require_transaction()
    if events:
        insert_many(events)
    return events


DISPATCH_BATCH = 200


def dispatch_pending(*, batch: int = DISPATCH_BATCH) -> int:
    """Hands the oldest events not yet dispatched to the subscribers and marks them dispatched, in one
    transaction (`SKIP LOCKED`: several relays share the table; a subscriber that fails rolls the batch
    back, to be handed over again). Returns how many were dispatched."""
    from django.db import transaction

    from .models import Event

    with transaction.atomic():
        events = list(Event.objects.select_for_update(skip_locked=True).filter(dispatched_at__isnull=True)
                      .order_by("created", "pk")[:batch])
        if not events:
            return 0
        for subscriber in _subscribers:
            subscriber(events)
        Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=clock.now())
    return len(events)


def event_payload(event: Any) -> dict[str, Any]:
    """The event as REST, MCP and webhook deliveries show it."""
    return {
        "id": event.pk, "object": "event", "type": event.type, "created": clock.isoformat(event.created),
        "data": event.data, "request": {"id": event.request_id or None},
        "actor": {"type": event.actor_type, "id": event.actor_id, "label": event.actor_label},
    }
