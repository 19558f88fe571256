"""Reads of the metrics part: any series for a period and resolution, and the performance report.

Series names (docs/MONITORING.md, "Metrics"):
- custom measurements (`record_performance_metric`): their own names, one series per distinct tag set;
  a point is the count, sum, min, max and mean (`value`) of the measurements in its interval;
- built-in request series, from RequestMetricMinute (all processes merged), one series per REST route
  (tag `route`, e.g. "POST /api/v1/transfers") or MCP tool (tag `tool`): `http.requests`, `http.errors`
  (5xx), `http.client_errors` (4xx), `http.error_rate` (errors / requests), `http.mean_ms`, `http.p50_ms`,
  `http.p95_ms`, `http.p99_ms`, `http.max_ms`, and the same under `mcp.`.
Intervals are aligned on the UTC epoch (a 1h point starts on the hour); only intervals with data are
returned.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from core import clock

from . import latency
from .errors_metrics import MetricNameUnknown, MetricPeriodInvalid, MetricTagsInvalid, TooManyPoints
from .models import PerformanceMetric, RequestMetricMinute
from .selectors import RouteWindow, route_window, summarise
from .services_metrics import TAG_KEY_RE, check_name

RESOLUTIONS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}
MAX_POINTS = 1440
# A custom series reads its measurements: at most this many per query (narrow the period or the tag).
MAX_MEASUREMENTS = 100_000
REPORT_MAX_DAYS = 31
REPORT_TOP = 10
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Value = Callable[[latency.LatencySummary], float | None]
BUILTIN: dict[str, tuple[Value, str]] = {
    "requests": (lambda s: s.count, "count"),
    "errors": (lambda s: s.errors, "count"),
    "client_errors": (lambda s: s.client_errors, "count"),
    "error_rate": (lambda s: round(s.error_rate, 6), "ratio"),
    "mean_ms": (lambda s: s.mean_ms, "ms"),
    "p50_ms": (lambda s: s.p(0.50), "ms"),
    "p95_ms": (lambda s: s.p(0.95), "ms"),
    "p99_ms": (lambda s: s.p(0.99), "ms"),
    "max_ms": (lambda s: round(s.max_ms, 3), "ms"),
}
KIND_OF_PREFIX = {"http": ("rest", "route"), "mcp": ("mcp", "tool")}
BUILTIN_NAMES = tuple(f"{prefix}.{suffix}" for prefix in KIND_OF_PREFIX for suffix in BUILTIN)


def _bucket(moment: dt.datetime, seconds: int) -> dt.datetime:
    offset = int((moment - _EPOCH).total_seconds()) // seconds * seconds
    return _EPOCH + dt.timedelta(seconds=offset)


def _check_period(start: dt.datetime, end: dt.datetime) -> None:
    if start >= end:
        raise MetricPeriodInvalid(details={"from": clock.isoformat(start), "to": clock.isoformat(end)})


def _parse_tag(tag: str | None) -> tuple[str, str] | None:
    if not tag:
        return None
    key, sep, value = tag.partition(":")
    if not sep or not TAG_KEY_RE.match(key) or not value:
        raise MetricTagsInvalid("tag is key:value, e.g. route:POST /api/v1/transfers.", details={"tag": tag[:250]})
    return key, value


def performance_metrics_get(*, name: str, start: dt.datetime, end: dt.datetime, resolution: str = "1m",
                            tag: str | None = None) -> dict[str, Any]:
    """One name's series in [start, end) at `resolution` (one of RESOLUTIONS)."""
    check_name(name, recording=False)
    _check_period(start, end)
    seconds = RESOLUTIONS[resolution]
    points = (_bucket(end - dt.timedelta(microseconds=1), seconds) - _bucket(start, seconds)) // \
        dt.timedelta(seconds=seconds) + 1
    if points > MAX_POINTS:
        raise TooManyPoints(details={"points": points, "max_points": MAX_POINTS})
    wanted = _parse_tag(tag)
    prefix, _, suffix = name.partition(".")
    if prefix in KIND_OF_PREFIX:
        if suffix not in BUILTIN:
            raise MetricNameUnknown(details={"name": name, "allowed": list(BUILTIN_NAMES)})
        unit, series = _builtin_series(prefix, suffix, start, end, seconds, wanted)
    else:
        unit, series = _custom_series(name, start, end, seconds, wanted)
    return {"name": name, "unit": unit, "resolution": resolution, "from": start, "to": end, "series": series}


def _builtin_series(prefix: str, suffix: str, start: dt.datetime, end: dt.datetime, seconds: int,
                    wanted: tuple[str, str] | None) -> tuple[str, list[dict[str, Any]]]:
    kind, tag_key = KIND_OF_PREFIX[prefix]
    value_of, unit = BUILTIN[suffix]
    rows = RequestMetricMinute.objects.filter(kind=kind, minute__gte=start, minute__lt=end)
    if wanted is not None:
        if wanted[0] != tag_key:
            return unit, []
        rows = rows.filter(name=wanted[1])
    grouped: dict[str, dict[dt.datetime, list[RequestMetricMinute]]] = defaultdict(lambda: defaultdict(list))
    for row in rows.order_by("name", "minute", "process"):
        grouped[row.name][_bucket(row.minute, seconds)].append(row)
    series = []
    for name in sorted(grouped):
        points = []
        for at in sorted(grouped[name]):
            summary = summarise(grouped[name][at])
            points.append({"t": at, "count": summary.count, "value": value_of(summary), "min": None,
                           "max": round(summary.max_ms, 3) if unit == "ms" else None, "sum": None})
        series.append({"tags": {tag_key: name}, "points": points})
    return unit, series


def _custom_series(name: str, start: dt.datetime, end: dt.datetime, seconds: int,
                   wanted: tuple[str, str] | None) -> tuple[str, list[dict[str, Any]]]:
    rows = PerformanceMetric.objects.filter(name=name, recorded_at__gte=start, recorded_at__lt=end)
    grouped: dict[str, dict[dt.datetime, list[float]]] = defaultdict(lambda: defaultdict(list))
    units: set[str] = set()
    read = list(rows.order_by("recorded_at", "id").values_list("tags", "value", "unit",
                                                               "recorded_at")[:MAX_MEASUREMENTS + 1])
    if len(read) > MAX_MEASUREMENTS:
        raise TooManyPoints("The period holds more measurements than one query reads: choose a shorter period.",
                            details={"max_measurements": MAX_MEASUREMENTS})
    for tags, value, unit, at in read:
        if wanted is not None and tags.get(wanted[0]) != wanted[1]:
            continue
        units.add(unit)
        grouped[json.dumps(tags, sort_keys=True)][_bucket(at, seconds)].append(value)
    series = []
    for tags_text in sorted(grouped):
        points = []
        for at in sorted(grouped[tags_text]):
            values = grouped[tags_text][at]
            total = sum(values)
            points.append({"t": at, "count": len(values), "value": total / len(values), "min": min(values),
                           "max": max(values), "sum": total})
        series.append({"tags": json.loads(tags_text), "points": points})
    unit = units.pop() if len(units) == 1 else ("mixed" if units else "none")
    return unit, series


# --- the report ------------------------------------------------------------------------------------
def _change_pct(current: float | None, previous: float | None) -> float | None:
    if current is None or not previous:
        return None
    return round((current - previous) / previous * 100, 1)


def _line(window: RouteWindow, previous: RouteWindow | None) -> dict[str, Any]:
    s = window.summary
    return {
        "name": window.name, "count": s.count, "errors": s.errors, "client_errors": s.client_errors,
        "error_rate": round(s.error_rate, 6), "mean_ms": s.mean_ms, "p50_ms": window.p50_ms,
        "p95_ms": window.p95_ms, "p99_ms": window.p99_ms, "max_ms": round(s.max_ms, 3),
        "previous_count": previous.count if previous else 0,
        "previous_error_rate": round(previous.error_rate, 6) if previous else None,
        "previous_p95_ms": previous.p95_ms if previous else None,
        "count_change_pct": _change_pct(s.count, previous.count if previous else None),
        "p95_change_pct": _change_pct(window.p95_ms, previous.p95_ms if previous else None),
    }


def _totals(windows: list[RouteWindow], previous: list[RouteWindow], minutes: float) -> dict[str, Any]:
    now = latency.LatencySummary(0, 0, 0, 0.0, 0.0, latency.empty()) if not windows else \
        _merge([w.summary for w in windows])
    before = _merge([w.summary for w in previous]) if previous else None
    return {
        "count": now.count, "errors": now.errors, "client_errors": now.client_errors,
        "error_rate": round(now.error_rate, 6), "throughput_per_minute": round(now.count / minutes, 3),
        "p50_ms": now.p(0.50), "p95_ms": now.p(0.95), "p99_ms": now.p(0.99),
        "previous_count": before.count if before else 0,
        "previous_error_rate": round(before.error_rate, 6) if before else None,
        "previous_p95_ms": before.p(0.95) if before else None,
        "count_change_pct": _change_pct(now.count, before.count if before else None),
        "p95_change_pct": _change_pct(now.p(0.95), before.p(0.95) if before else None),
    }


def _merge(summaries: list[latency.LatencySummary]) -> latency.LatencySummary:
    return latency.LatencySummary(
        count=sum(s.count for s in summaries), errors=sum(s.errors for s in summaries),
        client_errors=sum(s.client_errors for s in summaries), total_ms=sum(s.total_ms for s in summaries),
        max_ms=max((s.max_ms for s in summaries), default=0.0),
        histogram=latency.merge(s.histogram for s in summaries))


def performance_report(*, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Slowest routes and tools (by p95), error rates, throughput and the change against the previous
    period of the same length ([start - (end - start), start))."""
    _check_period(start, end)
    length = end - start
    previous_start = start - length
    minutes = length.total_seconds() / 60
    report: dict[str, Any] = {"from": start, "to": end, "previous_from": previous_start, "previous_to": start}
    for kind, label in (("rest", "routes"), ("mcp", "tools")):
        current = route_window(since=start, until=end, kind=kind)
        before = {w.name: w for w in route_window(since=previous_start, until=start, kind=kind)}
        report[f"{label}_total"] = _totals(current, list(before.values()), minutes)
        slowest = sorted(current, key=lambda w: (-(w.p95_ms or 0.0), w.name))[:REPORT_TOP]
        report[f"slowest_{label}"] = [_line(w, before.get(w.name)) for w in slowest]
        failing = [w for w in current if w.summary.errors or w.summary.client_errors]
        failing.sort(key=lambda w: (-w.error_rate, -(w.summary.client_errors / w.count), w.name))
        report[f"{label}_by_error_rate"] = [_line(w, before.get(w.name)) for w in failing[:REPORT_TOP]]
    return report
