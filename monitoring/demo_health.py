"""Demo data of the health part, made by the real services: the ledger verified once (as the nightly job does)
and one recorded health check, so the status page has history. Idempotent.

No worker heartbeat: only a running worker records one (its first as it starts, `tasks_health.heartbeat_when_ready`).
One written here named a worker that never ran, and once it went stale the health page called a fresh `make run`
degraded with that worker "stopped". The check recorded here says what is true while the seed runs: no worker yet."""

from __future__ import annotations

from typing import Any

from core import clock
from core.context import Actor
from wallets.selectors.verify import ledger_verify

from . import health
from .models import HealthCheck, LedgerVerification


def seed(*, rng: Any, stdout: Any) -> None:
    actor = Actor.system("seed_demo")
    if not LedgerVerification.objects.exists():
        started = clock.now()
        report = ledger_verify()
        health.ledger_verification_record(actor=actor, report=report, started_at=started, finished_at=clock.now(),
                                          source="seed_demo")
    if not HealthCheck.objects.exists():
        report = health.run_checks()
        health.health_check_record(actor=actor, report=report, source="seed_demo")
        stdout.write(f"  health check recorded: score {report.score}/100 ({report.state})")
