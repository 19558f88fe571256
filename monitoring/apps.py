from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # health: the built-in components, its operations and tasks, and the ledger verification's results
        from wallets.signals import ledger_verified

        from . import health, operations_health, tasks_health  # noqa: F401

        health.register_builtin_components()
        ledger_verified.connect(health.on_ledger_verified, dispatch_uid="monitoring.health.ledger_verified")

        # metrics: its operations, the minutely flush, the Prometheus series, the transactions retried
        from core.db import transaction_retried

        from . import operations_metrics, prometheus, tasks_metrics  # noqa: F401

        prometheus.register_builtin_series()
        transaction_retried.connect(prometheus.on_transaction_retried, dispatch_uid="monitoring.prometheus.retries")

        # errors and tracing: the error log's receivers; OpenTelemetry only when an OTLP endpoint is set
        from . import operations_errors  # noqa: F401
        from .errorlog_signals import connect_errorlog
        from .tracing import configure_tracing

        connect_errorlog()
        configure_tracing()

        # alerts: audit actions, events, operations, the minutely evaluation and the signals that raise alerts
        from . import audit_alerts, events, operations_alerts, tasks_alerts  # noqa: F401
        from .alerts import receivers

        receivers.connect()

        # request log: its operations and the daily purge; dashboards and analytics (monitoring/analytics): the
        # operations of each part, the daily revenue forecast, the customer activity rollups, the custom reports'
        # audit actions
        from . import (  # noqa: F401
            audit_reports,
            operations_analytics_customers,
            operations_analytics_overview,
            operations_analytics_reports,
            operations_analytics_revenue,
            operations_requestlog,
            tasks_requestlog,
            tasks_revenue,
            tasks_rollups,
        )
