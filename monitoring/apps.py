from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        from . import operations_errors  # noqa: F401
        from .errorlog_signals import connect_errorlog
        from .tracing import configure_tracing

        connect_errorlog()
        configure_tracing()
