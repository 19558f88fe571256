from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.ids import PublicIdField


class RequestLog(models.Model):
    """One REST request under /api/ or one MCP tool call, as Stripe's dashboard logs show them.

    Written after the answer, outside the request's transaction (`monitoring.requestlog`), so a
    refused or failed request is logged too. Bodies are stored redacted (secrets, card numbers,
    personal data) and truncated; rows older than REQUEST_LOG_RETENTION_DAYS are purged daily.
    Keys and users are copied as text (public id and name), not referenced: a log outlives nothing
    it names and never blocks a delete.
    """

    class Kind(models.TextChoices):
        REST = "rest", "REST request"
        MCP = "mcp", "MCP tool call"

    id = PublicIdField(prefix="rlog")
    created = models.DateTimeField(help_text="When the request arrived (UTC).")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    api_key_id = models.CharField(max_length=40, blank=True, help_text="key_... of the calling API key, if any.")
    api_key_name = models.CharField(max_length=100, blank=True)
    user_id = models.CharField(max_length=40, blank=True, help_text="The acting user (staff, or the key's owner).")
    username = models.CharField(max_length=150, blank=True)
    method = models.CharField(max_length=16, help_text="HTTP method, or tools/call for an MCP call.")
    route = models.CharField(max_length=200, blank=True,
                             help_text='Route pattern, e.g. "POST /api/v1/wallets/<str:wallet_id>"; blank for MCP.')
    tool = models.CharField(max_length=128, blank=True, help_text="MCP tool name; blank for REST.")
    path = models.CharField(max_length=500, blank=True, help_text="The path asked for (card numbers masked).")
    status = models.PositiveSmallIntegerField(help_text="HTTP status; MCP: the status REST would answer.")
    duration_ms = models.FloatField()
    request_id = models.CharField(max_length=140, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    query = models.JSONField(default=dict, blank=True, help_text="Query parameters, redacted.")
    request_body = models.JSONField(null=True, blank=True, help_text="Redacted; a string when truncated.")
    response_body = models.JSONField(null=True, blank=True, help_text="Redacted; a string when truncated.")
    request_truncated = models.BooleanField(default=False)
    response_truncated = models.BooleanField(default=False)

    class Meta:
        verbose_name = "request log entry"
        verbose_name_plural = "request log"
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["-created", "-id"], name="rlog_created_idx"),
            models.Index(fields=["api_key_id", "-created"], name="rlog_key_idx"),
            models.Index(fields=["status", "-created"], name="rlog_status_idx"),
            # A REST request has a route and no tool, an MCP call the other way round: each row enters one of
            # these two, not both.
            models.Index(fields=["route", "-created"], condition=~Q(route=""), name="rlog_route_idx"),
            models.Index(fields=["tool", "-created"], condition=~Q(tool=""), name="rlog_tool_idx"),
            models.Index(fields=["request_id"], name="rlog_request_id_idx"),
        ]

    def __str__(self) -> str:
        # A route already starts with its method ("POST /api/v1/customers"); a tool call says it is MCP.
        return f"{f'MCP {self.tool}' if self.tool else self.route or self.path} {self.status} ({self.id})"
