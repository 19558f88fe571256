from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from .ml import audit  # noqa: F401  (declares the registry's audit actions)
