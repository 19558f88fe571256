"""Admin pages of the compliance app."""

from django.contrib import admin

from core.admin_base import ReadOnlyAdmin

from .models import AuditArchive, AuditChainCheck


# --- Audit chain: archives and checks (read-only records) -----------------------------------------
@admin.register(AuditArchive)
class AuditArchiveAdmin(ReadOnlyAdmin):
    """Sealed audit events moved out of the table (compliance.archive); written by the daily job only."""

    list_display = ("file_name", "first_seq", "last_seq", "event_count", "oldest_occurred_at", "newest_occurred_at",
                    "verified_at", "purged_at")
    date_hierarchy = "created"
    fields = ("id", "file_name", "sha256", "size", "first_seq", "last_seq", "event_count", "first_event_id",
              "last_event_id", "first_prev_hash", "last_hash", "oldest_occurred_at", "newest_occurred_at", "created",
              "verified_at", "purged_at")
    readonly_fields = fields


@admin.register(AuditChainCheck)
class AuditChainCheckAdmin(ReadOnlyAdmin):
    """Each run of the audit chain verification (nightly job): intact or where it first breaks."""

    list_display = ("started_at", "intact", "count", "reason", "first_broken_event_id", "include_archives")
    list_filter = ("intact",)
    date_hierarchy = "started_at"
    fields = ("id", "started_at", "finished_at", "include_archives", "intact", "count", "first_broken_event_id",
              "reason", "head_seq", "head_event_id", "head_hash")
    readonly_fields = fields
