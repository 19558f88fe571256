from django.conf import settings
from django.db import models

from core.ids import PublicIdField
from core.money import CURRENCY_CHOICES, format_amount


class ToolCall(models.Model):
    """One `tools/call` on /mcp/, whatever its outcome. Append-only; arguments are redacted."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        ERROR = "error"  # a domain error, reported as an isError result
        INVALID = "invalid_params"  # refused by the input schema (JSON-RPC -32602)
        PENDING_APPROVAL = "pending_approval"
        DRY_RUN = "dry_run"
        INTERNAL_ERROR = "internal_error"

    id = PublicIdField(prefix="tcl")
    created = models.DateTimeField(db_index=True)
    tool = models.CharField(max_length=128)
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
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


class ApprovalThreshold(models.Model):
    """Above `amount` (minor units of `currency`), a call of `operation` by `api_key` (blank:
    every key) waits for a person. Edited by staff in the admin."""

    id = PublicIdField(prefix="thr")
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", help_text="Blank: applies to every API key.")
    operation = models.CharField(max_length=128, help_text="Tool / operation name, e.g. refund_payment.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = models.BigIntegerField(help_text="Calls for more than this amount wait for approval.")
    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        ordering = ["operation", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "operation", "currency"], name="mcp_threshold_unique_key"),
            models.UniqueConstraint(fields=["operation", "currency"], condition=models.Q(api_key__isnull=True),
                                    name="mcp_threshold_unique_all_keys"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="mcp_threshold_amount_gte_0"),
        ]

    def __str__(self):
        if self.amount is None:  # not set yet (a form being filled in): nothing is held on an amount
            return f"{self.operation} ({self.currency}, any amount)"
        return f"{self.operation} > {format_amount(self.amount, self.currency)} {self.currency}"


class ApprovalRequest(models.Model):
    """A call held above a threshold, with the arguments it will run with once approved."""

    class Status(models.TextChoices):
        PENDING = "pending_approval"
        APPROVED = "approved"  # decided; the call is running
        REJECTED = "rejected"
        EXPIRED = "expired"
        EXECUTED = "executed"  # approved and run; `result_*` holds the outcome (which may be an error)

    id = PublicIdField(prefix="apr")
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.PROTECT, related_name="+")
    operation = models.CharField(max_length=128)
    arguments = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    amount = models.BigIntegerField(null=True, blank=True, help_text="Empty when the call gave no "
                                    "amount (it takes the whole remainder).")
    currency = models.CharField(max_length=3, blank=True)
    threshold = models.ForeignKey(ApprovalThreshold, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    result_status = models.PositiveSmallIntegerField(null=True, blank=True)
    result_body = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        permissions = [("decide_approvalrequest", "Can approve or reject calls held for approval")]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "idempotency_key"], name="mcp_approval_unique_key"),
        ]

    def __str__(self):
        return f"{self.operation} {self.status} ({self.id})"
