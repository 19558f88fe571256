from django.db import models

from core.ids import PublicIdField


class ToolCall(models.Model):
    """One `tools/call` on /mcp/, whatever its outcome. Append-only; arguments are redacted."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        ERROR = "error"  # a domain error, reported as an isError result
        INVALID = "invalid_params"  # refused by the input schema, or an unknown tool (error_code unknown_tool)
        PENDING_APPROVAL = "pending_approval"
        DRY_RUN = "dry_run"
        INTERNAL_ERROR = "internal_error"

    id = PublicIdField(prefix="tcl")
    created = models.DateTimeField(db_index=True)
    tool = models.CharField(max_length=128)
    # Indexed by mcp_toolcall_key_idx (api_key, -created), which leads with it.
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", db_index=False)
    actor_label = models.CharField(max_length=200, blank=True)
    protocol_version = models.CharField(max_length=20, blank=True)
    request_id = models.CharField(max_length=140, blank=True)
    arguments = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    dry_run = models.BooleanField(default=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    error_code = models.CharField(max_length=64, blank=True)
    duration_ms = models.FloatField()
    approval_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["tool", "-created"], name="mcp_toolcall_tool_idx"),
            models.Index(fields=["api_key", "-created"], name="mcp_toolcall_key_idx"),
        ]

    def __str__(self):
        return f"{self.tool} {self.outcome} ({self.id})"
