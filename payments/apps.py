from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self):
        from . import audit, operations, signals  # noqa: F401
        from .risk import operations as risk_operations  # noqa: F401
        from .risk import signals as risk_signals

        risk_signals.connect()
