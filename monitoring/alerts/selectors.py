"""Reads of alerts."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from core.ids import get_by_public_id
from core.pagination import Page, paginate

from ..errors_alerts import AlertNotFound
from ..models.alerts import SEVERITY_ORDER, Alert

ACTIVE = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)


def _with_notes() -> QuerySet[Alert]:
    return Alert.objects.select_related("rule").prefetch_related("notes")


def alert_get(*, alert_id: str) -> Alert:
    return get_by_public_id(_with_notes(), alert_id, field="alert_id", error=AlertNotFound)


def alert_list(*, status: str | None = None, severity: str | None = None, source: str | None = None,
               limit: int | None = None, cursor: str | None = None) -> Page:
    """Alerts newest first, narrowed by status, severity and source."""
    qs = _with_notes()
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if source:
        qs = qs.filter(source=source)
    return paginate(qs, limit=limit, cursor=cursor)


def alert_active(*, severity: str | None = None, source: str | None = None, limit: int = 50) -> list[Alert]:
    """Open and acknowledged alerts, most severe first, then by rank score and the latest seen."""
    rank = Case(*[When(severity=s, then=Value(i)) for i, s in enumerate(SEVERITY_ORDER)],
                output_field=IntegerField())
    qs = _with_notes().filter(status__in=ACTIVE)
    if severity:
        qs = qs.filter(severity=severity)
    if source:
        qs = qs.filter(source=source)
    return list(qs.annotate(severity_rank=rank).order_by("-severity_rank", "-rank_score", "-last_seen", "pk")
                [:limit])
