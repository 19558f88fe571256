"""The monitoring app's tables, one module per part (metrics, health, alerts, errors, request log)."""

from .alerts import Alert, AlertNote, AlertRule
from .errors import ErrorGroup, ErrorOccurrence
from .health import HealthCheck, LedgerVerification, WorkerHeartbeat
from .metrics import PerformanceMetric, RequestMetricMinute
from .reports import SavedReport
from .requestlog import RequestLog
from .revenue import RevenueForecast
from .rollups import (
    CohortMonth,
    CustomerActiveMonth,
    CustomerFirstPayment,
    CustomersSnapshot,
    PaymentDay,
    RollupBuild,
)

__all__ = ["Alert", "AlertNote", "AlertRule", "CohortMonth", "CustomerActiveMonth", "CustomerFirstPayment",
           "CustomersSnapshot", "ErrorGroup", "ErrorOccurrence", "HealthCheck", "LedgerVerification", "PaymentDay",
           "PerformanceMetric", "RequestLog", "RequestMetricMinute", "RevenueForecast", "RollupBuild", "SavedReport",
           "WorkerHeartbeat"]
