from django.contrib import admin

from core.admin_base import ReadOnlyAdmin, latency_display

from .models import ToolCall


@admin.register(ToolCall)
class ToolCallAdmin(ReadOnlyAdmin):
    """The audit of every MCP tool call (arguments stored redacted). Append-only."""

    list_display = ("created", "tool", "outcome", "error_code", "key_prefix", "duration", "dry_run",
                    "protocol_version")
    list_filter = ("outcome", "dry_run", "protocol_version")
    search_fields = ("=id", "=tool", "=request_id", "=approval_id", "=api_key__prefix", "=error_code")
    list_select_related = ("api_key",)
    date_hierarchy = "created"
    duration = latency_display()

    @admin.display(description="API key")
    def key_prefix(self, obj):
        return obj.api_key.prefix if obj.api_key else "-"
