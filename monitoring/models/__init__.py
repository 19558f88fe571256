"""The monitoring app's tables, one module per part (metrics, health, alerts, errors, request log)."""

from .metrics import PerformanceMetric, RequestMetricMinute

__all__ = ["PerformanceMetric", "RequestMetricMinute"]
