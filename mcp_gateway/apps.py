from django.apps import AppConfig


class McpGatewayConfig(AppConfig):
    name = "mcp_gateway"
    verbose_name = "MCP gateway"

    def ready(self) -> None:
        # webhooks may not import monitoring (import-linter): the top layer hands its series to /metrics.
        from monitoring.prometheus import register_series
        from webhooks.selectors_metrics import delivery_counts

        register_series("webhook_deliveries_total", "Webhook deliveries by status (a delivery moves from pending "
                        "to succeeded or failed: a gauge).", delivery_counts)
