"""Celery tasks of the metrics part (beat row from migration 0003_metrics_flush_schedule)."""

from celery import shared_task

FLUSH_TASK = "monitoring.flush_request_metrics"


@shared_task(name=FLUSH_TASK)
def flush_request_metrics() -> int:
    """Every minute: writes the minutes that are over of this (worker) process's request metrics; web
    processes write theirs from their own background writer. Returns rows written."""
    from core import clock

    from .recorder import flush

    return flush(clock.now())
