"""Metrics operations: custom measurements, series for a period, the performance report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.context import Actor
from core.operations import Operation, register

from . import performance, services_metrics
from .serializers_metrics import (
    GetMetricsInput,
    MetricSeriesSerializer,
    PerformanceMetricSerializer,
    PerformanceReportSerializer,
    RecordMetricInput,
    ReportInput,
)

MONITORING = ("monitoring",)


def _get(*, actor: Actor, name: str, resolution: str = "1m", tag: str | None = None,
         **period: dt.datetime) -> dict[str, Any]:
    return performance.performance_metrics_get(name=name, start=period["from"], end=period["to"],
                                               resolution=resolution, tag=tag)


def _report(*, actor: Actor, **period: dt.datetime) -> dict[str, Any]:
    return performance.performance_report(start=period["from"], end=period["to"])


register(Operation(
    name="record_performance_metric", title="Record a performance metric",
    description=("Stores one named measurement (pmet_): name (dot-separated lowercase, e.g. checkout.render_ms; "
                 "http.* and mcp.* are the built-in request series and are refused), value (a finite number, "
                 "|value| <= 1e15), unit (ms, s, count, percent, ratio, bytes or none), tags (at most 10, string "
                 "values up to 200 characters) and recorded_at (default now, within the last 7 days). Read it back "
                 "with get_performance_metrics. Errors: invalid_metric_name, metric_name_reserved, "
                 "invalid_metric_value, invalid_metric_tags, invalid_metric_time, validation_error."),
    handler=services_metrics.performance_metric_record, scope="monitoring:write",
    permission="monitoring.add_performancemetric", input=RecordMetricInput, output=PerformanceMetricSerializer,
    read_only=False, success_status=201, tags=MONITORING,
))
register(Operation(
    name="get_performance_metrics", title="Performance metric series",
    description=("A series for the period [from, to) at a resolution (1m, 5m, 15m, 1h, 1d; at most 1440 points): a "
                 "custom name (one series per tag set; each point's count, sum, min, max and mean as value) or a "
                 "built-in request series, one per REST route (tag route) or MCP tool (tag tool): http.requests, "
                 "http.errors (5xx), http.client_errors (4xx), http.error_rate, http.mean_ms, http.p50_ms, "
                 "http.p95_ms, http.p99_ms, http.max_ms and the same under mcp.; percentiles are within 20% "
                 "(histogram buckets). tag=key:value keeps one series (route:POST /api/v1/transfers). Only "
                 "intervals with data are listed. Errors: invalid_metric_name, unknown_metric, invalid_period, "
                 "too_many_points, invalid_metric_tags."),
    handler=_get, scope="monitoring:read", permission="monitoring.view_performancemetric",
    input=GetMetricsInput, output=MetricSeriesSerializer, tags=MONITORING,
))
register(Operation(
    name="generate_performance_report", title="Performance report for a period",
    description=("Summarises REST routes and MCP tools over [from, to) (at most 31 days) against the previous "
                 "period of the same length: totals (requests, errors, error rate, throughput per minute, "
                 "p50/p95/p99 ms), the 10 slowest routes and tools by p95, the 10 with the highest error rate, each "
                 "with the previous period's count, error rate and p95 and the change in percent (null without a "
                 "previous value). Read-only. Errors: invalid_period, validation_error."),
    handler=_report, scope="monitoring:read", permission="monitoring.view_requestmetricminute",
    input=ReportInput, output=PerformanceReportSerializer, tags=MONITORING,
))
