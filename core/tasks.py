"""Periodic housekeeping of the kernel. Scheduled by django-celery-beat rows (migrations 0002, 0004)."""

from celery import shared_task

from .idempotency import purge_expired

PURGE_TASK_NAME = "core.purge_idempotency_keys"
PURGE_EVENTS_TASK_NAME = "core.purge_events"


@shared_task(name=PURGE_TASK_NAME)
def purge_idempotency_keys() -> int:
    """Deletes idempotency records past their 24 h; returns how many."""
    return purge_expired()


@shared_task(name=PURGE_EVENTS_TASK_NAME)
def purge_events() -> int:
    """Deletes events older than EVENT_RETENTION_DAYS (their delivery logs go with them) and outbox rows
    sent before then; returns how many events."""
    from .retention import purge_old_events

    return purge_old_events()
