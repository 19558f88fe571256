"""Audit actions of the metrics part."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class MetricsAction(models.TextChoices):
    PERFORMANCE_METRIC_RECORDED = "performance_metric.recorded", "A custom performance measurement was recorded"
