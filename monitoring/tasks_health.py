"""Celery tasks of the health part: thin adapters over monitoring.health (beat rows: migration 0003)."""

from __future__ import annotations

import socket
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from core.context import Actor

from . import health

HEARTBEAT_TASK_NAME = "monitoring.worker_heartbeat"


@shared_task(name=HEARTBEAT_TASK_NAME, bind=True, ignore_result=True)
def worker_heartbeat(self: Any) -> str:
    """Every minute: the worker that runs it records that it is alive (the `worker` component)."""
    return _beat(self.request.hostname)


def _beat(hostname: str | None) -> str:
    worker = hostname or f"celery@{socket.gethostname()}"
    health.worker_heartbeat_record(actor=Actor.for_task(HEARTBEAT_TASK_NAME), worker=worker)
    return worker


@worker_ready.connect(dispatch_uid="monitoring.worker_ready_heartbeat")
def heartbeat_when_ready(sender: Any = None, **_: Any) -> None:
    """A worker's first heartbeat as it starts taking tasks: the minutely task may run first only a minute later,
    or after the health check that beat queued with it, and until then a worker that is up looked down."""
    _beat(getattr(sender, "hostname", None))


@shared_task(name="monitoring.record_health_check", ignore_result=True)
def record_health_check() -> dict:
    """Every minute: runs every check and records it (the status page's history, get_system_status)."""
    actor = Actor.for_task("monitoring.record_health_check")
    report = health.run_checks()
    check = health.health_check_record(actor=actor, report=report, source="monitoring.record_health_check")
    purged = health.health_check_purge(actor=actor)
    return {"health_check_id": check.pk, "score": report.score, "state": report.state, "purged": purged}
