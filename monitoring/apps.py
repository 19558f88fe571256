from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        from . import operations_metrics, prometheus, tasks_metrics  # noqa: F401

        prometheus.register_builtin_series()
