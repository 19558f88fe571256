from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhook endpoints and their deliveries. Above monitoring and below mcp_gateway; it depends
    on core and accounts only: domains emit events, they never import it."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from core.events import subscribe
        from monitoring.alerts import register_source

        from . import audit, events, operations, tasks  # noqa: F401
        from .alert_source import SOURCE, disabled_endpoints
        from .services import fan_out

        subscribe(fan_out)
        register_source(SOURCE, disabled_endpoints)
