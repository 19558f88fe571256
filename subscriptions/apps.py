from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        from auditlog.registry import auditlog

        from . import audit, operations  # noqa: F401
        from .models import DunningSettings, Plan

        auditlog.register(DunningSettings)
        auditlog.register(Plan)
