"""Writes of the metrics part: a process's minutes of request metrics, custom measurements."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, use_case
from core.models import stamp

from . import latency
from .audit_metrics import MetricsAction
from .errors_metrics import (
    MetricNameInvalid,
    MetricNameReserved,
    MetricTagsInvalid,
    MetricTimeInvalid,
    MetricValueInvalid,
)
from .models import PerformanceMetric, RequestMetricMinute

if TYPE_CHECKING:
    from .recorder import Aggregate, Key

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
NAME_MAX = 100
RESERVED_PREFIXES = ("http.", "mcp.")
TAG_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TAG_VALUE_MAX = 200
TAGS_MAX = 10
VALUE_LIMIT = 1e15
PAST_LIMIT = dt.timedelta(days=7)
FUTURE_LIMIT = dt.timedelta(minutes=5)


@use_case
def metric_minutes_merge(*, process: str, minutes: dict[Key, Aggregate]) -> int:
    """Adds one process's aggregates to its rows (one per minute, kind, name); returns rows written."""
    require_transaction()
    keys = list(minutes)
    existing: dict[tuple[dt.datetime, str, str], RequestMetricMinute] = {}
    for minute in {key[0] for key in keys}:
        names = [key[2] for key in keys if key[0] == minute]
        for row in RequestMetricMinute.objects.select_for_update().filter(minute=minute, process=process,
                                                                          name__in=names):
            existing[(row.minute, row.kind, row.name)] = row
    new, changed = [], []
    for (minute, kind, name), aggregate in minutes.items():
        row = existing.get((minute, kind, name))
        if row is None:
            new.append(RequestMetricMinute(
                minute=minute, kind=kind, name=name, process=process, count=aggregate.count,
                errors=aggregate.errors, client_errors=aggregate.client_errors, total_ms=aggregate.total_ms,
                max_ms=aggregate.max_ms, histogram=list(aggregate.histogram)))
            continue
        row.count += aggregate.count
        row.errors += aggregate.errors
        row.client_errors += aggregate.client_errors
        row.total_ms += aggregate.total_ms
        row.max_ms = max(row.max_ms, aggregate.max_ms)
        row.histogram = latency.merge([row.histogram, aggregate.histogram])
        changed.append(row)
    RequestMetricMinute.objects.bulk_create(new)
    if changed:
        RequestMetricMinute.objects.bulk_update(
            changed, ["count", "errors", "client_errors", "total_ms", "max_ms", "histogram"])
    return len(new) + len(changed)


# --- custom measurements ----------------------------------------------------------------------------
def check_name(name: Any, *, recording: bool = True) -> str:
    if not isinstance(name, str) or not 0 < len(name) <= NAME_MAX or not NAME_RE.match(name):
        raise MetricNameInvalid(details={"name": str(name)[:NAME_MAX + 1]})
    if recording and name.startswith(RESERVED_PREFIXES):
        raise MetricNameReserved(details={"name": name})
    return name


def check_value(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricValueInvalid()
    number = float(value)
    if not math.isfinite(number) or abs(number) > VALUE_LIMIT:
        raise MetricValueInvalid()
    return number


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or len(tags) > TAGS_MAX:
        raise MetricTagsInvalid()
    for key, item in tags.items():
        if not isinstance(key, str) or not TAG_KEY_RE.match(key):
            raise MetricTagsInvalid(details={"tag": str(key)[:41]})
        if not isinstance(item, str) or not 0 < len(item) <= TAG_VALUE_MAX or not item.isprintable():
            raise MetricTagsInvalid(details={"tag": key})
    return dict(sorted(tags.items()))


def check_recorded_at(recorded_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if recorded_at is None:
        return now
    if not now - PAST_LIMIT <= recorded_at <= now + FUTURE_LIMIT:
        raise MetricTimeInvalid()
    return recorded_at


@use_case
def performance_metric_record(*, actor: Actor, name: str, value: float, unit: str = "none",
                              tags: dict[str, str] | None = None,
                              recorded_at: dt.datetime | None = None) -> PerformanceMetric:
    """Stores one named measurement (validated again here: every door and every caller)."""
    now = clock.now()
    if unit not in PerformanceMetric.Unit.values:
        raise MetricValueInvalid("Unknown unit.", details={"unit": str(unit)[:20],
                                                           "allowed": list(PerformanceMetric.Unit.values)})
    metric = PerformanceMetric(name=check_name(name), value=check_value(value), unit=unit, tags=check_tags(tags),
                               recorded_at=check_recorded_at(recorded_at, now))
    stamp(metric, actor=actor, now=now)
    metric.save(force_insert=True)
    audit_record(action=MetricsAction.PERFORMANCE_METRIC_RECORDED, actor=actor, obj=metric,
                 details={"name": metric.name, "value": metric.value, "unit": metric.unit, "tags": metric.tags})
    return metric
