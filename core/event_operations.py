"""Events at the doors: `list_events` and `get_event` (REST `/api/v1/events`, MCP tools), scope
`events:read`. A caller sees only the events whose object it could read (`readable_types`): a key
without `payments:read` sees no payment event, and one it may not see is `not_found`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .context import Actor
from .events import event_payload, readable_types
from .ids import get_by_public_id
from .models import Event
from .operations import Operation, register
from .pagination import Page, filter_present, paginate
from .serializers import DateTimeInField, ListQuerySerializer


class EventIdInput(serializers.Serializer[Any]):
    event_id = serializers.CharField(max_length=64, help_text="Event id (evt_...).")


class EventListInput(ListQuerySerializer):
    type = serializers.CharField(required=False, max_length=80, help_text="Only events of this type.")
    object_id = serializers.CharField(required=False, max_length=64, help_text="Only events of this object.")
    created_gte = DateTimeInField(required=False)
    created_lte = DateTimeInField(required=False)


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "`object`: the object as the REST API rendered it after the change; "
                                     "`previous_attributes` (updates): the changed attributes' earlier values."})
class _DataField(serializers.JSONField):
    pass


class _RequestSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(allow_null=True, help_text="Request id of the call that made the change.")


class _ActorSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="user, api_key, task or system.")
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class EventSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="evt_...")
    object = serializers.CharField(help_text="Always `event`.")
    type = serializers.CharField(help_text="The event type (docs/EVENTS.md), e.g. payment.succeeded.")
    created = serializers.CharField(help_text="When the change happened (UTC, ...Z).")
    data = _DataField()  # type: ignore[assignment]
    request = _RequestSerializer()
    actor = _ActorSerializer()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return event_payload(instance)


def _visible(actor: Actor) -> Any:
    return Event.objects.filter(type__in=readable_types(actor))


def event_get(*, actor: Actor, event_id: str) -> Event:
    found: Event = get_by_public_id(_visible(actor), event_id, field="event_id", message="No such event.")
    return found


def event_list(*, actor: Actor, limit: int = 20, cursor: str | None = None, type: str | None = None,
               object_id: str | None = None, created_gte: Any = None, created_lte: Any = None) -> Page:
    queryset = filter_present(_visible(actor), type=type, object_id=object_id, created__gte=created_gte,
                              created__lte=created_lte)
    return paginate(queryset, limit=limit, cursor=cursor)


register(Operation(
    name="list_events", title="List events",
    description=("Lists events (evt_) newest first: every business change (payment.succeeded, wallet.frozen, ...; "
                 "the list is docs/EVENTS.md) with data.object as the REST API rendered the object then and, on "
                 "updates, data.previous_attributes. Filter by type, object_id and creation time (created_gte, "
                 "created_lte); page with limit (max 100) and cursor. Only events whose object the caller could "
                 "read are listed. Kept 30 days by default."),
    handler=event_list, scope="events:read", permission="core.view_event",
    input=EventListInput, output=EventSerializer, many=True, tags=("events",),
))
register(Operation(
    name="get_event", title="Get event",
    description="Returns one event by its evt_ id. Errors: not_found (also for an event the caller may not read).",
    handler=event_get, scope="events:read", permission="core.view_event",
    input=EventIdInput, output=EventSerializer, tags=("events",),
))
