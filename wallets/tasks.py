"""Celery tasks: thin adapters over the ledger's services and selectors."""

import logging

from celery import shared_task

from core import clock
from core.context import Actor

from . import ledger
from .selectors.verify import ledger_verify
from .signals import ledger_verification_failed, ledger_verified

logger = logging.getLogger("wallets.tasks")


@shared_task(name="wallets.verify_ledger")
def verify_ledger() -> dict:
    """Nightly (beat row from migration 0003). A broken ledger is logged at ERROR for alerting."""
    started_at = clock.now()
    report = ledger_verify()
    ledger_verified.send(sender=verify_ledger, report=report, started_at=started_at, finished_at=clock.now(),
                         source="wallets.verify_ledger")
    if not report.ok:
        logger.error("ledger verification failed", extra={"problems": report.problems[:20],
                                                          "count": len(report.problems)})
        ledger_verification_failed.send(sender=verify_ledger, problems=report.problems, report=report)
    return {"ok": report.ok, "problems": len(report.problems), "entries": report.entries}


@shared_task(name="wallets.expire_holds")
def expire_holds() -> int:
    return ledger.hold_expire_due(actor=Actor.for_task("wallets.expire_holds"))
