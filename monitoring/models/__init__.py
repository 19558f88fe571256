"""The monitoring app's tables, one module per part (metrics, health, alerts, errors, request log)."""

from .errors import ErrorGroup, ErrorOccurrence
from .metrics import RequestMetricMinute

__all__ = ["ErrorGroup", "ErrorOccurrence", "RequestMetricMinute"]
