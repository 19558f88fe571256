from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self):
        from . import audit_alerts, events, operations_alerts, tasks_alerts  # noqa: F401
        from .alerts import receivers

        receivers.connect()
