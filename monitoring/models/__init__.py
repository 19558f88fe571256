"""The monitoring app's tables, one module per part (metrics, health, alerts, errors, request log)."""

from .metrics import RequestMetricMinute
from .requestlog import RequestLog

__all__ = ["RequestLog", "RequestMetricMinute"]
