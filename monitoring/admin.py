"""The monitoring app in the admin, one module per part."""

from . import admin_alerts, admin_errors, admin_health, admin_metrics, admin_reports, admin_requestlog  # noqa: F401
