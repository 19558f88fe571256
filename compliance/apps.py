from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from . import audit, operations, tasks  # noqa: F401  (tasks: the outbox runs them by name)
