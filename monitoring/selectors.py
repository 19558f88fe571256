"""Reads of the monitoring app."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from . import latency
from .models import RequestMetricMinute


@dataclass(frozen=True)
class RouteWindow:
    """One REST route's or MCP tool's requests over a period, all processes merged."""

    kind: str
    name: str
    summary: latency.LatencySummary

    @property
    def count(self) -> int:
        return self.summary.count

    @property
    def error_rate(self) -> float:
        return self.summary.error_rate

    @property
    def p50_ms(self) -> float | None:
        return self.summary.p(0.50)

    @property
    def p95_ms(self) -> float | None:
        return self.summary.p(0.95)

    @property
    def p99_ms(self) -> float | None:
        return self.summary.p(0.99)


def route_window(*, since: dt.datetime, until: dt.datetime, kind: str | None = None,
                 name: str | None = None) -> list[RouteWindow]:
    """Every route or tool measured in [since, until) (minutes that start in it), busiest first."""
    rows = RequestMetricMinute.objects.filter(minute__gte=since, minute__lt=until)
    if kind:
        rows = rows.filter(kind=kind)
    if name:
        rows = rows.filter(name=name)
    grouped: dict[tuple[str, str], list[RequestMetricMinute]] = defaultdict(list)
    for row in rows.order_by("kind", "name", "minute", "process"):
        grouped[(row.kind, row.name)].append(row)
    windows = [RouteWindow(kind=k, name=n, summary=summarise(group)) for (k, n), group in grouped.items()]
    return sorted(windows, key=lambda w: (-w.count, w.kind, w.name))


def summarise(rows: list[RequestMetricMinute]) -> latency.LatencySummary:
    return latency.LatencySummary(
        count=sum(r.count for r in rows), errors=sum(r.errors for r in rows),
        client_errors=sum(r.client_errors for r in rows), total_ms=sum(r.total_ms for r in rows),
        max_ms=max((r.max_ms for r in rows), default=0.0), histogram=latency.merge(r.histogram for r in rows))
