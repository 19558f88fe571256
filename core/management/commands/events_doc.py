"""Writes docs/EVENTS.md from the declared event types (`make docs`); a test keeps it current."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from core.events import declared_events

DOC = Path(settings.BASE_DIR) / "docs" / "EVENTS.md"

HEADER = """# Events

Every business change writes an event (`evt_`) in the transaction of the change
(`core.events.emit`): `id`, `type`, `created`, `data.object` (the object exactly as the REST API
renders it), `data.previous_attributes` on updates (the changed attributes' earlier values), the
request id and the actor. Read them with `GET /api/v1/events` (filters `type`, `object_id`,
`created_gte`, `created_lte`) and `GET /api/v1/events/{event_id}`, or the MCP tools `list_events`
and `get_event` (scope `events:read`; a caller sees only events whose object it could read: the
scope below). Webhook endpoints receive them signed (Standard Webhooks). Events are kept
`EVENT_RETENTION_DAYS` days (30 by default).

Types are declared once, in each app's `events.py`; emitting an undeclared type is refused. This
page is generated from those declarations by `manage.py events_doc` (`make docs`); do not edit it
by hand.
"""


def render() -> str:
    lines = [HEADER, "| type | app | read with | what happened |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {t.app} | `{t.scope}` | {t.description} |" for name, t in declared_events().items()
              if t.app != "tests"]
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Rewrites docs/EVENTS.md from the event types the apps declare."

    def handle(self, *args: Any, **options: Any) -> None:
        DOC.write_text(render())
        self.stdout.write(f"updated {DOC}")
