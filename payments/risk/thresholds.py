"""The staff-editable score thresholds (one `RiskThresholds` row) and the decision they give."""

from __future__ import annotations

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.errors import ValidationFailed

from ..audit import PaymentsAction


def risk_thresholds_get():
    from payments.models import RiskThresholds

    return RiskThresholds.objects.order_by("pk").first() or RiskThresholds()


def decide(score: int, thresholds=None) -> tuple[str, str]:
    """(level, decision) of a 0-100 model score."""
    t = thresholds or risk_thresholds_get()
    if score >= t.block_at:
        return "highest", "block"
    if score >= t.review_at:
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
