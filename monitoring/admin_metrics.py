"""Admin of the metrics part: per-route and per-tool latency for a chosen period, custom measurements."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core import clock
from core.admin_base import ReadOnlyAdmin

from .models import PerformanceMetric, RequestMetricMinute
from .selectors import RouteWindow, route_window

PERIODS = {"15m": dt.timedelta(minutes=15), "1h": dt.timedelta(hours=1), "24h": dt.timedelta(hours=24),
           "7d": dt.timedelta(days=7)}
DEFAULT_PERIOD = "1h"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def latency_table(windows: list[RouteWindow]) -> SafeString:
    """Route or tool, count, error rate, p50/p95/p99 (ms); each cell labelled for the stacked phone layout."""
    rows = format_html_join(
        "", '<tr><td data-label="Kind">{}</td><td data-label="Route or tool" class="bo-ids">{}</td>'
            '<td data-label="Requests" class="bo-num">{}</td><td data-label="Errors (5xx)" class="bo-num">{}</td>'
            '<td data-label="Refused (4xx)" class="bo-num">{}</td><td data-label="p50 ms" class="bo-num">{}</td>'
            '<td data-label="p95 ms" class="bo-num">{}</td><td data-label="p99 ms" class="bo-num">{}</td></tr>',
        ((w.kind, w.name, f"{w.count:,}", f"{w.error_rate:.2%}",
          f"{w.summary.client_errors / w.count:.2%}" if w.count else "–",
          _ms(w.p50_ms), _ms(w.p95_ms), _ms(w.p99_ms)) for w in windows))
    return format_html(
        '<div class="bo-scroll"><table class="bo-latency"><thead><tr><th>Kind</th><th>Route or tool</th>'
        '<th>Requests</th><th>Errors (5xx)</th><th>Refused (4xx)</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th>'
        '</tr></thead><tbody>{}</tbody></table></div>', rows)


@admin.register(RequestMetricMinute)
class RequestMetricMinuteAdmin(ReadOnlyAdmin):
    """The list opens on the latency of every route and tool over the chosen period (all processes
    merged; percentiles within one histogram bucket, 20 %), above the per-process minute rows."""

    change_list_template = "admin/monitoring/latency_changelist.html"
    list_display = ("minute", "kind", "name", "process", "count", "errors", "client_errors", "max_ms")
    list_filter = ("kind",)
    search_fields = ("name",)
    date_hierarchy = "minute"
    fields = ("minute", "kind", "name", "process", "count", "errors", "client_errors", "total_ms", "max_ms",
              "histogram")
    readonly_fields = fields

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # The period is ours, not a lookup of the list: taken out before the changelist reads GET.
        query = request.GET.copy()
        period = query.pop("period", [DEFAULT_PERIOD])[-1]
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        request.GET = query  # type: ignore[assignment]  # a mutable copy, as Django's own views do
        until = clock.now()
        since = until - PERIODS[period]
        windows = route_window(since=since, until=until)
        context = {"latency_period": period, "latency_periods": list(PERIODS), "latency_since": since,
                   "latency_until": until, "latency_table": latency_table(windows) if windows else None,
                   **(extra_context or {})}
        response: HttpResponse = super().changelist_view(request, extra_context=context)
        return response


@admin.register(PerformanceMetric)
class PerformanceMetricAdmin(ReadOnlyAdmin):
    list_display = ("recorded_at", "name", "value", "unit", "tags", "actor_label")
    list_filter = ("unit",)
    search_fields = ("name", "id")
    date_hierarchy = "recorded_at"
    fields = ("id", "name", "value", "unit", "tags", "recorded_at", "created", "actor_type", "actor_id",
              "actor_label")
    readonly_fields = fields
