"""Approval thresholds and the calls they hold.

The tables were created by mcp_gateway, where approvals first lived; `db_table` keeps them (and
their rows) where they are, so moving the models changed no data (migrations: approvals 0001 and
mcp_gateway 0003 only move the models' state)."""

from django.conf import settings
from django.db import models

from core.ids import PublicIdField
from core.money import CURRENCY_CHOICES, format_amount


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
        db_table = "mcp_gateway_approvalthreshold"
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
        db_table = "mcp_gateway_approvalrequest"
        ordering = ["-requested_at"]
        permissions = [("decide_approvalrequest", "Can approve or reject calls held for approval")]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "idempotency_key"], name="mcp_approval_unique_key"),
        ]

    def __str__(self):
        return f"{self.operation} {self.status} ({self.id})"
