"""Periodic housekeeping of the kernel. Scheduled by a django-celery-beat row (migration 0002)."""

from celery import shared_task

from .idempotency import purge_expired

PURGE_TASK_NAME = "core.purge_idempotency_keys"


@shared_task(name=PURGE_TASK_NAME)
def purge_idempotency_keys() -> int:
    """Deletes idempotency records past their 24 h; returns how many."""
    return purge_expired()
