"""Compliance models."""

from __future__ import annotations

from django.db import models

from core.ids import PublicIdField
from core.models import ActorStamped


# --- Audit chain: archives and nightly checks (compliance.chain, compliance.archive) ----------------
class AuditArchive(models.Model):
    """One gzip-compressed JSON Lines file holding the sealed audit events `first_seq`..`last_seq`
    (moved out of the table once older than AUDIT_ARCHIVE_AFTER_DAYS). The file's SHA-256 and the
    chain's hashes at both ends are kept here, so the chain stays verifiable across archives; the
    database trigger lets the archiver delete only events whose seq lies in a verified archive.
    When the file passes AUDIT_RETENTION_DAYS it is deleted and `purged_at` set (the row stays: it
    anchors the chain that follows)."""

    id = PublicIdField(prefix="arc")
    file_name = models.CharField(max_length=200, unique=True, help_text="Inside AUDIT_ARCHIVE_DIR.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the compressed file.")
    size = models.BigIntegerField(help_text="Bytes of the compressed file.")
    first_seq = models.BigIntegerField(unique=True)
    last_seq = models.BigIntegerField(unique=True)
    event_count = models.IntegerField()
    first_event_id = models.CharField(max_length=64)
    last_event_id = models.CharField(max_length=64)
    first_prev_hash = models.CharField(max_length=64, help_text="The chain's hash just before this file.")
    last_hash = models.CharField(max_length=64, help_text="The hash of the file's last event.")
    oldest_occurred_at = models.DateTimeField()
    newest_occurred_at = models.DateTimeField()
    created = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True,
                                       help_text="When the written file was read back and matched the events.")
    purged_at = models.DateTimeField(null=True, blank=True, help_text="When the file passed its retention.")

    class Meta:
        ordering = ["first_seq"]
        constraints = [models.CheckConstraint(condition=models.Q(last_seq__gte=models.F("first_seq")),
                                              name="auditarchive_seq_range")]

    def __str__(self) -> str:
        return f"audit events {self.first_seq}-{self.last_seq}"


class AuditChainCheck(models.Model):
    """The result of one run of the chain verification (the nightly job, `verify_audit_chain`)."""

    id = PublicIdField(prefix="acc")
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    include_archives = models.BooleanField(default=False)
    intact = models.BooleanField()
    count = models.BigIntegerField(help_text="Sealed events checked.")
    first_broken_event_id = models.CharField(max_length=64, blank=True, null=True)
    reason = models.CharField(max_length=16, blank=True, null=True,
                              help_text="altered, missing or inserted (empty when intact).")
    # The chain's last event then: the next checks find it deleted or rewritten (a bare hash chain can't).
    head_seq = models.BigIntegerField(null=True, blank=True)
    head_event_id = models.CharField(max_length=64, blank=True)
    head_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"chain check {self.started_at:%Y-%m-%d %H:%M} {'intact' if self.intact else 'BROKEN'}"


# --- PCI self-assessment ---------------------------------------------------------------------------
class PciAssessment(ActorStamped, models.Model):
    """One recorded run of the PCI DSS self-assessment (compliance.pci): what each check saw, then."""

    id = PublicIdField(prefix="pci")
    score = models.PositiveSmallIntegerField(help_text="Share of applicable checks passed, 0-100.")
    passed = models.PositiveSmallIntegerField()
    failed = models.PositiveSmallIntegerField()
    not_applicable = models.PositiveSmallIntegerField()
    checks = models.JSONField(default=list, help_text="Each check: id, requirement, title, status, evidence.")
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "PCI assessment"

    def __str__(self) -> str:
        return f"PCI assessment {self.id}: {self.score}/100"






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
