"""Webhook endpoints and the deliveries they receive. Endpoint management is REST and admin only
(operations with `doors=`); deliveries are scheduled in the transaction of the event (`fan_out`, a
`core.events` subscriber) and run by `webhooks.delivery` through the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, use_case
from core.event_operations import event_get
from core.events import declared_events, emit, readable_types
from core.ids import get_by_public_id, random_chars
from core.models import Event, stamp, touch
from core.outbox import enqueue, enqueue_many

from . import targets
from .audit import WebhooksAction
from .errors import EventsNotReadable, ReplayTooLarge, UnknownEventType
from .events import WebhooksEvent
from .models import WebhookDelivery, WebhookEndpoint
from .signing import new_secret

DELIVER_TASK = "webhooks.deliver"
SECRET_OVERLAP = dt.timedelta(hours=24)
REPLAY_LIMIT = 10_000


def webhook_endpoint_get(*, endpoint_id: str) -> WebhookEndpoint:
    return get_by_public_id(WebhookEndpoint.objects.all(), endpoint_id, field="endpoint_id",
                            message="No such webhook endpoint.")


def _lock(endpoint_id: str) -> WebhookEndpoint:
    require_transaction()
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


def _checked_events(actor: Actor, enabled_events: list[str]) -> list[str]:
    """The list as given (deduplicated), every type declared and readable by the caller: a key may not
    have sent anywhere what it could not read itself."""
    wanted = list(dict.fromkeys(enabled_events)) or ["*"]
    declared = set(declared_events())
    unknown = [t for t in wanted if t != "*" and t not in declared]
    if unknown:
        raise UnknownEventType(details={"enabled_events": unknown})
    readable = set(readable_types(actor))
    hidden = sorted((declared if "*" in wanted else set(wanted)) - readable)
    if hidden:
        raise EventsNotReadable(details={"types": hidden})
    return wanted


def _check_url(url: str) -> str:
    targets.resolve(url)
    return url


@use_case
def webhook_endpoint_create(*, actor: Actor, url: str, enabled_events: list[str] | None = None,
                            description: str = "", enabled: bool = True) -> WebhookEndpoint:
    """Returns the endpoint with its new secret readable on `secret` (shown once by the door)."""
    endpoint = WebhookEndpoint(url=_check_url(url), enabled_events=_checked_events(actor, enabled_events or ["*"]),
                               description=description, enabled=enabled, secret=new_secret())
    stamp(endpoint, actor=actor)
    endpoint.save(force_insert=True)
    audit_record(action=WebhooksAction.ENDPOINT_CREATED, actor=actor, obj=endpoint,
                 details={"url": url, "enabled_events": endpoint.enabled_events})
    return endpoint


@use_case
def webhook_endpoint_update(*, actor: Actor, endpoint_id: str, url: str | None = None,
                            enabled_events: list[str] | None = None, description: str | None = None,
                            enabled: bool | None = None) -> WebhookEndpoint:
    endpoint = _lock(endpoint_id)
    changes: dict[str, Any] = {}
    if url is not None and url != endpoint.url:
        changes["url"] = _check_url(url)
    if enabled_events is not None:
        checked = _checked_events(actor, enabled_events)
        if checked != endpoint.enabled_events:
            changes["enabled_events"] = checked
    if description is not None and description != endpoint.description:
        changes["description"] = description
    if enabled is not None and enabled != endpoint.enabled:
        changes["enabled"] = enabled
        if enabled:
            changes.update(failing_since=None, disabled_reason="")
    if changes:
        before = {name: getattr(endpoint, name) for name in changes}
        for name, value in changes.items():
            setattr(endpoint, name, value)
        touch(endpoint, *changes)
        audit_record(action=WebhooksAction.ENDPOINT_UPDATED, actor=actor, obj=endpoint,
                     details={"changed": sorted(changes), "before": {k: v for k, v in before.items()
                                                                    if k in ("url", "enabled_events", "enabled")}})
    return endpoint


@use_case
def webhook_endpoint_delete(*, actor: Actor, endpoint_id: str) -> dict[str, Any]:
    endpoint = _lock(endpoint_id)
    audit_record(action=WebhooksAction.ENDPOINT_DELETED, actor=actor, obj=endpoint, details={"url": endpoint.url})
    endpoint_pk = endpoint.pk
    endpoint.delete()
    return {"id": endpoint_pk, "object": "webhook_endpoint", "deleted": True}


@use_case
def webhook_endpoint_rotate_secret(*, actor: Actor, endpoint_id: str) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs too (a second signature) for 24 hours."""
    endpoint = _lock(endpoint_id)
    endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
    endpoint.previous_secret_expires_at = clock.now() + SECRET_OVERLAP
    touch(endpoint, "secret", "previous_secret", "previous_secret_expires_at")
    audit_record(action=WebhooksAction.ENDPOINT_SECRET_ROTATED, actor=actor, obj=endpoint,
                 details={"previous_secret_expires_at": clock.isoformat(endpoint.previous_secret_expires_at)})
    return endpoint


def schedule_delivery(endpoint: WebhookEndpoint, event: Event, reason: str) -> WebhookDelivery:
    """A delivery of `event` to `endpoint`, run by the outbox after commit."""
    require_transaction()
    delivery = _new_delivery(endpoint, event, reason)
    delivery.save(force_insert=True)
    enqueue(DELIVER_TASK, delivery.pk, delivery.token)
    return delivery


def _new_delivery(endpoint: WebhookEndpoint, event: Event, reason: str) -> WebhookDelivery:
    delivery = WebhookDelivery(endpoint=endpoint, event=event, reason=reason, token=random_chars(24),
                               next_attempt_at=clock.now())
    stamp(delivery)
    return delivery


def fan_out(events: list[Event]) -> None:
    """core.events subscriber (in the relay, after the changes committed): a delivery of each event
    to every enabled endpoint that wants its type."""
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True).only("id", "enabled_events"))
    _schedule_many([_new_delivery(endpoint, event, WebhookDelivery.Reason.EVENT)
                    for event in events for endpoint in endpoints if endpoint.wants(event.type)])


def _schedule_many(deliveries: list[WebhookDelivery]) -> None:
    """`schedule_delivery` for many unsaved deliveries: one INSERT of them and one of their outbox rows."""
    require_transaction()
    WebhookDelivery.objects.bulk_create(deliveries)
    enqueue_many(DELIVER_TASK, [(d.pk, d.token) for d in deliveries])


@use_case
def webhook_endpoint_test(*, actor: Actor, endpoint_id: str) -> WebhookDelivery:
    """Sends a `webhook_endpoint.test` event (the endpoint as its object) to this endpoint only."""
    endpoint = _lock(endpoint_id)
    event = emit(WebhooksEvent.ENDPOINT_TEST, endpoint, actor=actor, deliver=False)
    delivery = schedule_delivery(endpoint, event, WebhookDelivery.Reason.TEST)
    audit_record(action=WebhooksAction.TEST_SENT, actor=actor, obj=endpoint,
                 details={"event_id": event.pk, "delivery_id": delivery.pk})
    return delivery


@use_case
def webhook_endpoint_replay(*, actor: Actor, endpoint_id: str, created_gte: dt.datetime, created_lte: dt.datetime,
                            types: list[str] | None = None) -> dict[str, Any]:
    """Sends again every event of the range that the endpoint wants (and `types`, if given) and the
    caller may read, oldest first."""
    endpoint = _lock(endpoint_id)
    wanted = [t for t in readable_types(actor) if endpoint.wants(t) and (not types or t in types)]
    events = Event.objects.filter(type__in=wanted, created__gte=created_gte, created__lte=created_lte)
    if events.count() > REPLAY_LIMIT:
        raise ReplayTooLarge(details={"limit": REPLAY_LIMIT})
    deliveries = [_new_delivery(endpoint, event, WebhookDelivery.Reason.REPLAY)
                  for event in events.order_by("created", "pk")]
    _schedule_many(deliveries)
    count = len(deliveries)
    audit_record(action=WebhooksAction.EVENTS_REPLAYED, actor=actor, obj=endpoint,
                 details={"created_gte": clock.isoformat(created_gte), "created_lte": clock.isoformat(created_lte),
                          "types": types or [], "events": count})
    return {"object": "webhook_replay", "endpoint_id": endpoint.pk, "events": count}


@use_case
def event_redeliver(*, actor: Actor, event_id: str, endpoint_id: str) -> WebhookDelivery:
    event = event_get(actor=actor, event_id=event_id)
    endpoint = _lock(endpoint_id)
    delivery = schedule_delivery(endpoint, event, WebhookDelivery.Reason.REDELIVER)
    audit_record(action=WebhooksAction.EVENT_REDELIVERED, actor=actor, obj=endpoint,
                 details={"event_id": event.pk, "event_type": event.type, "delivery_id": delivery.pk})
    return delivery


def retry_window() -> dt.timedelta:
    return dt.timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS)
