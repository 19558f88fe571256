"""Events, their delivery logs (rows that reference an event go with it) and sent outbox rows are
kept EVENT_RETENTION_DAYS days (30 by default), then deleted by `core.purge_events` (daily)."""

from __future__ import annotations

from django.db import transaction

from .models import Event
from .outbox import purge_sent, retention_cutoff

CHUNK = 1000


def purge_old_events() -> int:
    """Deletes in chunks, each its own transaction, so a month of events never holds one long lock."""
    cutoff = retention_cutoff()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(Event.objects.filter(created__lt=cutoff).values_list("pk", flat=True)[:CHUNK])
            if not ids:
                break
            Event.objects.filter(pk__in=ids).delete()
        total += len(ids)
    with transaction.atomic():
        purge_sent(cutoff)
    return total
