from django.apps import AppConfig


class McpGatewayConfig(AppConfig):
    name = "mcp_gateway"
    verbose_name = "MCP gateway"

    def ready(self):
        from core import operations

        from . import audit  # noqa: F401
        from . import operations as _ops  # noqa: F401  (registers get_approval_status)
        from .approvals import approval_gate

        if approval_gate not in operations.approval_gates:
            operations.approval_gates.append(approval_gate)
