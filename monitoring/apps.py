from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        from . import operations_requestlog, tasks_requestlog  # noqa: F401  # registers operations and tasks
