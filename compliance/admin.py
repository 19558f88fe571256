"""Staff pages of compliance. Exports: the list with status and progress; the add page is the
export_compliance_data operation's form; the change page links to the file while it can be downloaded."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import ReadOnlyAdmin

from .models import ComplianceExport
from .serializers import download_url


# --- exports ---------------------------------------------------------------------------------------
@admin.register(ComplianceExport)
class ComplianceExportAdmin(OperationAddMixin, ReadOnlyAdmin):
    operation_add = operation_create("export_compliance_data", label="Export compliance data")
    list_display = ("id", "kind", "format", "period", "include_pii", "status", "progress", "actor_label", "created",
                    "expires_at")
    list_filter = ("status", "kind", "format", "include_pii")
    search_fields = ("id", "actor_label")
    fields = ("id", "kind", "format", "period_from", "period_to", "include_pii", "status", "progress", "download",
              "size", "sha256", "error_code", "error_message", "actor_type", "actor_label", "created", "started_at",
              "completed_at", "expires_at", "file_deleted_at")
    readonly_fields = fields

    @admin.display(description="Period")
    def period(self, obj: ComplianceExport) -> str:
        return f"{obj.period_from} .. {obj.period_to}"

    @admin.display(description="Progress")
    def progress(self, obj: ComplianceExport) -> str:
        total = "?" if obj.rows_total is None else str(obj.rows_total)
        return f"{obj.rows_written} / {total} rows ({obj.percent}%)"

    @admin.display(description="File")
    def download(self, obj: ComplianceExport) -> str:
        url = download_url(obj)
        if url is None:
            return "-"
        return format_html('<a href="{}">Download {}</a> (until {})', url, f"{obj.pk}.{obj.format}",
                           obj.expires_at)

