from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        from auditlog.registry import auditlog

        from core.events import subscribe

        from . import audit, operations, tasks  # noqa: F401  (tasks: the outbox runs them by name)
        from .churn import score_on_activation

        subscribe(score_on_activation)
        from .models import DunningSettings, Plan

        auditlog.register(DunningSettings)
        auditlog.register(Plan)
