from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhook endpoints and their deliveries (the events issue fills it). Above monitoring and
    below mcp_gateway; it depends on core and accounts only: domains emit events, they never import it."""

    name = "webhooks"
    verbose_name = "Webhooks"
