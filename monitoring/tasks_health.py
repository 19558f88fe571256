"""Celery tasks of the health part: thin adapters over monitoring.health (beat rows: migration 0003)."""

from __future__ import annotations

import socket
from typing import Any

from celery import shared_task

from core.context import Actor

from . import health


@shared_task(name="monitoring.worker_heartbeat", bind=True, ignore_result=True)
def worker_heartbeat(self: Any) -> str:
    """Every minute: the worker that runs it records that it is alive (the `worker` component)."""
    worker = self.request.hostname or f"celery@{socket.gethostname()}"
    health.worker_heartbeat_record(actor=Actor.for_task("monitoring.worker_heartbeat"), worker=worker)
    return worker


@shared_task(name="monitoring.record_health_check", ignore_result=True)
def record_health_check() -> dict:
    """Every minute: runs every check and records it (the status page's history, get_system_status)."""
    actor = Actor.for_task("monitoring.record_health_check")
    report = health.run_checks()
    check = health.health_check_record(actor=actor, report=report, source="monitoring.record_health_check")
    purged = health.health_check_purge(actor=actor)
    return {"health_check_id": check.pk, "score": report.score, "state": report.state, "purged": purged}
