"""Alerts from signals of lower layers: the nightly ledger verification's failure (wallets.signals).

A failure raises its alert when it happens (critical, dedup key `ledger_verification`: the next failing
night folds into it); the next verification that passes (`ledger_verified`, nightly or `manage.py
verify_ledger`) resolves it with a note, as a rule's recovered condition does.
"""

from __future__ import annotations

import logging
from typing import Any

from core.context import Actor

from ..errors_alerts import AlertAlreadyResolved
from ..models.alerts import Alert
from .notify import deliver
from .services import alert_raise, alert_resolve

logger = logging.getLogger("monitoring.alerts")
SOURCE = "ledger_verification"


def on_ledger_verification_failed(sender: Any, problems: list[str], report: Any = None, **kwargs: Any) -> None:
    try:
        shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
        alert = alert_raise(
            actor=Actor.for_task("wallets.verify_ledger"), source=SOURCE, dedup_key=SOURCE, severity="critical",
            title="Ledger verification failed",
            reason=(f"The ledger verification found {len(problems)} broken invariant(s) over "
                    f"{getattr(report, 'entries', '?')} journal entries: {shown}"),
            details={"problems": problems[:20], "count": len(problems), "entries": getattr(report, "entries", None)},
            rank_score=100, rank_reason="critical: a ledger that breaks an invariant is always critical.",
            impact={"volume": len(problems), "volume_label": "broken invariants", "amounts": {}})
        if getattr(alert, "created_now", False):
            deliver(alert.pk, "created")
    except Exception:  # noqa: BLE001 - the verification's own result (logged at ERROR) must not be lost to this
        logger.exception("ledger verification alert not raised")


def on_ledger_verified(sender: Any, report: Any, finished_at: Any = None, **kwargs: Any) -> None:
    if report.problems:
        return  # the failure signal raises or folds the alert
    try:
        for alert in Alert.objects.filter(dedup_key=SOURCE, status__in=ACTIVE).order_by("created"):
            note = (f"Resolved automatically: the ledger verification passed ({getattr(report, 'entries', '?')} "
                    f"journal entries, no broken invariant).")
            try:
                alert_resolve(actor=Actor.for_task("wallets.verify_ledger"), alert_id=alert.pk, note=note)
            except AlertAlreadyResolved:
                continue  # resolved by a person meanwhile
            deliver(alert.pk, "resolved")
    except Exception:  # noqa: BLE001 - the verification's own result is stored; this must not undo it
        logger.exception("ledger verification alert not resolved")


ACTIVE = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)


def connect() -> None:
    from wallets.signals import ledger_verification_failed, ledger_verified

    ledger_verification_failed.connect(on_ledger_verification_failed, dispatch_uid="monitoring.ledger_alert")
    ledger_verified.connect(on_ledger_verified, dispatch_uid="monitoring.ledger_alert_resolved")
