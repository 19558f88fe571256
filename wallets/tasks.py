"""Celery tasks: thin adapters over the ledger's services and selectors."""

import logging

from celery import shared_task

from core.context import Actor

from . import ledger
from .selectors.verify import ledger_verify
from .signals import ledger_verification_failed

logger = logging.getLogger("wallets.tasks")


@shared_task(name="wallets.verify_ledger")
def verify_ledger() -> dict:
    """Nightly (beat row from migration 0003). A broken ledger is logged at ERROR for alerting."""
    report = ledger_verify()
    if not report.ok:
        logger.error("ledger verification failed", extra={"problems": report.problems[:20],
                                                          "count": len(report.problems)})
        ledger_verification_failed.send(sender=verify_ledger, problems=report.problems, report=report)
    return {"ok": report.ok, "problems": len(report.problems), "entries": report.entries}


@shared_task(name="wallets.expire_holds")
def expire_holds() -> int:
    return ledger.hold_expire_due(actor=Actor.for_task("wallets.expire_holds"))
