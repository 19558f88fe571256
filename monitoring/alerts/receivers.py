"""Alerts from signals of lower layers: the nightly ledger verification's failure (wallets.signals).

The ledger's result is not stored, so no rule can read it: the failure raises its alert when it happens
(critical, dedup key `ledger_verification`: the next failing night folds into it). Nothing signals a
passing verification, so this alert is resolved by hand once the ledger is repaired.
"""

from __future__ import annotations

import logging
from typing import Any

from core.context import Actor

from .notify import deliver
from .services import alert_raise

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


def connect() -> None:
    from wallets.signals import ledger_verification_failed

    ledger_verification_failed.connect(on_ledger_verification_failed, dispatch_uid="monitoring.ledger_alert")
