from __future__ import annotations

from django.db import models

from core.ids import PublicIdField
from core.models import ActorStamped


class RequestMetricMinute(models.Model):
    """One process's latency and outcomes of one REST route or MCP tool during one minute.

    Each process aggregates in memory and writes one row per (minute, kind, name) it saw, so
    processes never contend for a row; readers merge rows (`monitoring.latency`): counts add,
    histograms add bucket by bucket, and percentiles come from the merged histogram.
    """

    class Kind(models.TextChoices):
        REST = "rest", "REST route"
        MCP = "mcp", "MCP tool"

    minute = models.DateTimeField(help_text="The minute's start (UTC, seconds zero).")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=200, help_text='"POST /api/v1/transfers" (route pattern) or a tool name.')
    process = models.CharField(max_length=80, help_text="host:pid of the process that measured it.")
    count = models.PositiveIntegerField()
    errors = models.PositiveIntegerField(help_text="Server errors: HTTP 5xx, an MCP call that failed unexpectedly.")
    client_errors = models.PositiveIntegerField(help_text="Refusals: HTTP 4xx, an MCP call answered with an error.")
    total_ms = models.FloatField()
    max_ms = models.FloatField()
    histogram = models.JSONField(help_text="Counts per latency bucket (monitoring.latency.BUCKET_BOUNDS_MS).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["minute", "kind", "name", "process"], name="metric_minute_unique"),
        ]
        indexes = [models.Index(fields=["minute", "kind", "name"], name="metric_minute_route_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} @ {self.minute:%Y-%m-%d %H:%M} x{self.count}"


class PerformanceMetric(ActorStamped):
    """A named custom measurement (`pmet_`): a value with a unit and tags at a moment, recorded by staff,
    an integration or an agent (`record_performance_metric`). Read as series by `get_performance_metrics`
    beside the built-in request series (`http.*`, `mcp.*`, computed from RequestMetricMinute)."""

    class Unit(models.TextChoices):
        MS = "ms", "milliseconds"
        SECONDS = "s", "seconds"
        COUNT = "count", "count"
        PERCENT = "percent", "percent"
        RATIO = "ratio", "ratio"
        BYTES = "bytes", "bytes"
        NONE = "none", "no unit"

    id = PublicIdField(prefix="pmet")
    name = models.CharField(max_length=100)
    value = models.FloatField()
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.NONE)
    tags = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(help_text="When it was measured (UTC).")
    created = models.DateTimeField(help_text="When it was stored.")

    class Meta:
        indexes = [models.Index(fields=["name", "recorded_at"], name="perf_metric_name_at_idx")]
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name}={self.value:g} {self.unit} @ {self.recorded_at:%Y-%m-%d %H:%M:%S}"
