"""What the scoring path keeps in the cache (the active model's id, the thresholds, the enabled rules) is
made stale when their rows change: every process sees the change on its next read once it commits
(with Redis; at most `SNAPSHOT_LOCAL_SECONDS` later without it)."""

from django.db.models.signals import post_delete, post_save

from core.models import MLModel
from core.snapshots import invalidating

from ..models import RiskRule, RiskThresholds
from .caches import ACTIVE, RULES, THRESHOLDS


def connect() -> None:
    for model, snapshots in ((MLModel, ACTIVE), (RiskThresholds, THRESHOLDS), (RiskRule, RULES)):
        stale = invalidating(snapshots)
        label = model._meta.label_lower
        post_save.connect(stale, sender=model, weak=False, dispatch_uid=f"payments.risk.{label}.save")
        post_delete.connect(stale, sender=model, weak=False, dispatch_uid=f"payments.risk.{label}.delete")
