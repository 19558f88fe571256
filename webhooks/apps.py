from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhook endpoints and their deliveries. Above monitoring and below mcp_gateway; it depends
    on core and accounts only: domains emit events, they never import it."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from core.events import subscribe

        from . import audit, events, operations, tasks  # noqa: F401
        from .services import fan_out

        subscribe(fan_out)
