"""Reads: the tool-call performance report."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.db.models import Avg, Count, Max, Q

from .models import ToolCall


def tool_call_report(*, since: dt.datetime, until: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per tool: calls, errors, average and worst duration, and the p95 duration (ms)."""
    qs = ToolCall.objects.filter(created__gte=since)
    if until is not None:
        qs = qs.filter(created__lt=until)
    rows: list[Any] = list(qs.values("tool").annotate(
        calls=Count("id"),
        errors=Count("id", filter=Q(outcome__in=[ToolCall.Outcome.ERROR, ToolCall.Outcome.INTERNAL_ERROR,
                                                 ToolCall.Outcome.INVALID])),
        avg_ms=Avg("duration_ms"), max_ms=Max("duration_ms"),
    ).order_by("tool"))
    # Every tool's durations in one sorted query (not one query per tool), grouped here.
    durations = {tool: [ms for _, ms in group] for tool, group in groupby(
        qs.order_by("tool", "duration_ms").values_list("tool", "duration_ms"), key=itemgetter(0))}
    for row in rows:
        values = durations.get(row["tool"])
        row["p95_ms"] = values[min(len(values) - 1, int(0.95 * len(values)))] if values else None
    return rows
