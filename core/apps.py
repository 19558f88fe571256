from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from .ml import audit, operations  # noqa: F401  (the registry's audit actions and staff operations)
