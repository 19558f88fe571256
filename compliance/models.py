"""Compliance records: exports of audit events, payments, refunds, ledger entries and customers."""

from __future__ import annotations

from django.db import models

from core.ids import PublicIdField
from core.models import ActorStamped


class ComplianceExport(ActorStamped, models.Model):
    """One export of a kind of record for a period of UTC days (`period_to` inclusive), as CSV or JSON
    Lines, written by its Celery task to a file under COMPLIANCE_EXPORT_DIR (compliance/exports.py).
    Personal data is masked unless `include_pii`. The file can be downloaded until `expires_at`
    (completed + 24 h); a periodic job deletes it after. Who asked is the actor stamp."""

    class Kind(models.TextChoices):
        AUDIT_EVENTS = "audit_events"
        PAYMENTS = "payments"
        REFUNDS = "refunds"
        LEDGER_ENTRIES = "ledger_entries"
        CUSTOMERS = "customers"

    class Format(models.TextChoices):
        CSV = "csv"
        JSONL = "jsonl"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = PublicIdField(prefix="exp")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    period_from = models.DateField(help_text="First UTC day exported.")
    period_to = models.DateField(help_text="Last UTC day exported (inclusive).")
    include_pii = models.BooleanField(default=False, help_text="Personal data unmasked (e-mail, name, IP).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True, help_text="Rows in the period (once counted).")
    rows_written = models.PositiveIntegerField(default=0)
    file_path = models.CharField(max_length=500, blank=True, help_text="Relative to COMPLIANCE_EXPORT_DIR.")
    size = models.BigIntegerField(null=True, blank=True, help_text="File size in bytes.")
    sha256 = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                      help_text="The download link works until then (completed + 24 h).")
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "compliance export"
        permissions = [
            ("export_compliance_data", "Can export compliance data"),
            ("export_personal_data", "Can include personal data in exports"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.kind} {self.period_from}..{self.period_to} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_written * 100 // self.rows_total)
