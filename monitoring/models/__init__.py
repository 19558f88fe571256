"""The monitoring app's tables, one module per part (metrics, health, alerts, errors, request log)."""

from .health import HealthCheck, LedgerVerification, WorkerHeartbeat
from .metrics import RequestMetricMinute

__all__ = ["HealthCheck", "LedgerVerification", "RequestMetricMinute", "WorkerHeartbeat"]
