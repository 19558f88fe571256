"""The staff-editable score thresholds (one `RiskThresholds` row) and the decision they give.

Every scored payment reads them: `decide` takes them from the cache (`core.snapshots`: versioned in
Redis, at most 5 s per process without it), made stale when the row is saved (payments/risk/signals.py).
"""

from __future__ import annotations

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.errors import ValidationFailed

from ..audit import PaymentsAction
from .caches import THRESHOLDS


def risk_thresholds_get():
    from payments.models import RiskThresholds

    return RiskThresholds.objects.order_by("pk").first() or RiskThresholds()


def review_and_block_at() -> tuple[int, int]:
    """(review_at, block_at), cached."""

    def load() -> tuple[int, int]:
        row = risk_thresholds_get()
        return row.review_at, row.block_at

    return THRESHOLDS.get("current", load)


def decide(score: int, thresholds=None) -> tuple[str, str]:
    """(level, decision) of a 0-100 model score."""
    review_at, block_at = (thresholds.review_at, thresholds.block_at) if thresholds else review_and_block_at()
    if score >= block_at:
        return "highest", "block"
    if score >= review_at:
        return "elevated", "review"
    return "normal", "allow"


@use_case
def risk_thresholds_save(*, actor: Actor, review_at: int, block_at: int):
    from payments.models import RiskThresholds

    if not (isinstance(review_at, int) and isinstance(block_at, int) and 0 < review_at < block_at <= 100):
        raise ValidationFailed({"block_at": ["Thresholds must satisfy 0 < review_at < block_at <= 100."]})
    row = RiskThresholds.objects.select_for_update().order_by("pk").first() or RiskThresholds()
    before = {"review_at": row.review_at, "block_at": row.block_at}
    row.review_at, row.block_at = review_at, block_at
    row.updated, row.updated_by = clock.now(), actor.label[:200]
    row.save()
    audit_record(action=PaymentsAction.RISK_THRESHOLDS_UPDATED, actor=actor, obj=row,
                 details={"before": before, "after": {"review_at": review_at, "block_at": block_at}})
    return row
