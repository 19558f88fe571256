"""The live feed of open dashboards: WebSocket `/ws/dashboard/`, verified staff only.

Each web process runs one poller while at least one dashboard is connected to it: every
`DASHBOARD_LIVE_POLL_SECONDS` it reads the new rows of the event table (`core.models.Event`, written in
the transaction of each change) and sends them to this process's consumers through the channel layer.
Reading the table, not a message from the writer, is what makes it work under `make run`: there the
Celery worker and the web process share no channel layer (in-memory), but they share the database. With
Redis the group is still per process, so a process never receives another's copy of an event.

Messages carry ids, types and a short summary (amount, currency, status): no card data, no personal data;
a staff member receives only the types whose objects they may view (`core.events.readable_types`), and the
page fetches its numbers again (`?format=json`) under their own permissions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import uuid
from typing import Any

from channels.db import database_sync_to_async  # type: ignore[import-untyped]
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # type: ignore[import-untyped]
from channels.layers import get_channel_layer  # type: ignore[import-untyped]
from django.conf import settings

from core import clock

logger = logging.getLogger(__name__)

REFUSED = 4403
# What a dashboard shows changes with these: payments and refunds (created, status changes, reviews), alerts,
# subscriptions and invoices, wallets, customers.
LIVE_PREFIXES = ("payment.", "refund.", "alert.", "subscription.", "invoice.", "wallet.", "customer.")
# A change's transaction may commit after a later one: read again this far back and skip what was sent.
LOOKBACK = dt.timedelta(seconds=10)
BATCH = 200
GROUP = f"dashboard-live.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def poll_seconds() -> float:
    return float(getattr(settings, "DASHBOARD_LIVE_POLL_SECONDS", 1.5))


def readable_live_types(user: Any) -> frozenset[str]:
    """The feed's types this staff member may see: those whose objects their permissions let them view."""
    from core.context import Actor
    from core.events import readable_types

    return frozenset(readable_types(Actor.for_user(user))) & frozenset(live_types())


def is_verified_staff(user: Any, session: Any) -> bool:
    """As django_otp's OTPMiddleware decides `is_verified()`: the session's device (DEVICE_ID_SESSION_KEY)
    exists, is confirmed and belongs to the user; and the user is active staff."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.middleware import OTPMiddleware
    from django_otp.models import Device

    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff or session is None:
        return False
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(OTPMiddleware._normalize_persistent_id(persistent_id))
    return device is not None and device.user_id == user.pk and bool(device.confirmed)


def summary(row: dict[str, Any]) -> str:
    parts = [row["type"]]
    amount, currency, status = row.get("amount"), row.get("currency"), row.get("status")
    if isinstance(amount, str) and isinstance(currency, str):
        parts.append(f"{amount} {currency}")
    if isinstance(status, str):
        parts.append(status)
    return " ".join(parts)[:120]


def live_types() -> list[str]:
    """The declared event types the feed carries."""
    from core.events import declared_events

    return [name for name in declared_events() if name.startswith(LIVE_PREFIXES)]


def message(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": row["type"],
        "created": clock.isoformat(row["created"]),
        "object_id": row["object_id"],
        "summary": summary(row),
    }


def new_events(since: dt.datetime, seen: set[str]) -> list[dict[str, Any]]:
    """Live-relevant events created at or after `since` not in `seen`, oldest first (the `created` index)."""
    from core.models import Event

    rows = (
        Event.objects.filter(type__in=live_types(), created__gte=since)
        .exclude(id__in=seen)
        .order_by("created", "id")
        .values(
            "id",
            "type",
            "created",
            "object_id",
            amount=_key("amount"),
            currency=_key("currency"),
            status=_key("status"),
        )[:BATCH]
    )
    return [message(dict(row)) for row in rows]


def _key(name: str) -> Any:
    from django.db.models.fields.json import KeyTextTransform, KeyTransform

    return KeyTextTransform(name, KeyTransform("object", "data"))


class Poller:
    """One per event loop (Daphne has one per process): runs while consumers are connected."""

    def __init__(self) -> None:
        self.consumers = 0
        self.task: asyncio.Task[None] | None = None
        self.seen: dict[str, dt.datetime] = {}

    def join(self) -> None:
        self.consumers += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def leave(self) -> None:
        self.consumers = max(0, self.consumers - 1)
        if self.consumers == 0 and self.task is not None:
            self.task.cancel()
            self.task = None

    async def run(self) -> None:
        layer = get_channel_layer()
        start = clock.now()
        self.seen = {}
        while self.consumers:
            try:
                since = max(start, clock.now() - LOOKBACK)
                rows = await database_sync_to_async(new_events)(since, set(self.seen))
                for row in rows:
                    self.seen[row["id"]] = clock.now()
                    await layer.group_send(GROUP, {"type": "dashboard.event", "event": row})
                cutoff = clock.now() - 2 * LOOKBACK
                self.seen = {key: at for key, at in self.seen.items() if at >= cutoff}
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not end the feed of every open page: log it and try again.
                logger.exception("dashboard live poll failed")
            await asyncio.sleep(poll_seconds())


_pollers: dict[int, Poller] = {}


def poller() -> Poller:
    loop = asyncio.get_running_loop()
    found = _pollers.get(id(loop))
    if found is None:
        found = _pollers[id(loop)] = Poller()
    return found


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    joined = False
    types: frozenset[str] = frozenset()

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = await database_sync_to_async(is_verified_staff)(user, self.scope.get("session"))
        if not allowed:
            # Accepted then closed, so the browser sees 4403 (a refusal before accepting reaches it as 1006).
            await self.accept()
            await self.close(code=REFUSED)
            return
        self.types = await database_sync_to_async(readable_live_types)(user)
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()
        self.joined = True
        poller().join()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            self.joined = False
            poller().leave()
            await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The feed is one-way; what the browser sends is ignored.
        return None

    async def dashboard_event(self, event: dict[str, Any]) -> None:
        if event["event"]["type"] in self.types:
            await self.send_json({"type": "event", "event": event["event"]})


def poller_count() -> int:
    """Consumers connected to this process's pollers (for tests and the health of the feed)."""
    return sum(p.consumers for p in _pollers.values())
