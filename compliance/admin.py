"""The compliance app in the admin."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core import clock
from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import IndexedValuesFilter, LargeTableAdminMixin, ReadOnlyAdmin, clipped_display
from core.context import Actor
from core.models import AuditEvent

from . import selectors, services
from .models import AuditArchive, AuditChainCheck, ComplianceExport, PciAssessment
from .serializers import AuditReportInput, download_url


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


# --- PCI self-assessment ---------------------------------------------------------------------------
def pci_checks_table(checks: list[dict[str, Any]]) -> SafeString:
    """The checks of an assessment as a table whose status cells are coloured (classes, the CSP refuses
    style attributes); on a narrow screen each check is a block of its own."""
    return SafeString(render_to_string("admin/compliance/pci_checks.html", {"checks": checks}))


@admin.register(PciAssessment)
class PciAssessmentAdmin(OperationAddMixin, ReadOnlyAdmin):
    list_display = ("id", "score", "passed", "failed", "not_applicable", "actor_label", "created")
    list_display_links = ("id",)
    fields = ("id", "score", "passed", "failed", "not_applicable", "actor_type", "actor_label", "created",
              "checks_table")
    readonly_fields = fields
    change_list_template = "admin/compliance/pci_changelist.html"
    operation_add = operation_create("run_pci_assessment", label="Run and record a PCI assessment")

    @admin.display(description="Checks")
    def checks_table(self, obj: PciAssessment) -> SafeString:
        return pci_checks_table(obj.checks)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        latest = PciAssessment.objects.order_by("-created", "-id").first()
        context = {"pci_latest": latest, "pci_latest_table": pci_checks_table(latest.checks) if latest else None,
                   **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)







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








# --- audit events and the audit report (report helper) ----------------------------------------------

DEFAULT_REPORT_DAYS = 7


@admin.register(AuditEvent)
class AuditEventAdmin(LargeTableAdminMixin, ReadOnlyAdmin):
    """The audit trail, read-only (PostgreSQL refuses changes too); the audit report is a page of it."""

    actor_label_clipped = clipped_display("actor_label", "Actor")
    list_display = ("occurred_at", "action", "outcome", "actor_type", "actor_label_clipped", "object_type",
                    "object_id", "ip_address")
    list_filter = ("outcome", ("actor_type", IndexedValuesFilter))
    search_fields = ("=id", "=action", "=actor_id", "=object_id", "=request_id")
    # No date_hierarchy: its year and month lists scan millions of events (the audit report picks a period).
    fields = ("id", "seq", "occurred_at", "action", "outcome", "actor_type", "actor_id", "actor_label",
              "object_type", "object_id", "request_id", "ip_address", "user_agent", "shown_details", "prev_hash",
              "hash")
    readonly_fields = fields
    change_list_template = "admin/core/auditevent/change_list.html"

    @admin.display(description="Details")
    def shown_details(self, obj: AuditEvent) -> str:
        return format_html('<pre class="bo-json">{}</pre>', json.dumps(selectors.audit_details_shown(obj), indent=2,
                                                                   sort_keys=True))

    def get_urls(self) -> list[URLPattern]:
        # Before the change URLs, which would take "report" for an object id.
        return [path("report/", self.admin_site.admin_view(self.report_view), name="core_auditevent_report"),
                *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"audit_report_url": reverse("admin:core_auditevent_report"), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Pick a period (default: the last 7 UTC days), read the report, download it as CSV or JSON
        (a download is audited; reading the page is not)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        today = clock.now().astimezone(dt.UTC).date()
        given = {"from": source.get("from") or (today - dt.timedelta(days=DEFAULT_REPORT_DAYS - 1)).isoformat(),
                 "to": source.get("to") or today.isoformat()}
        form = AuditReportInput(data=given)
        context: dict[str, Any] = {**self.admin_site.each_context(request), "title": "Audit report",
                                   "opts": AuditEvent._meta, "period": given, "errors": None, "report": None}
        if not form.is_valid():
            context["errors"] = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
            return TemplateResponse(request, "admin/compliance/audit_report.html", context,
                                    status=400 if request.method == "POST" else 200)
        start, end = form.validated_data["from"], form.validated_data["to"]
        if request.method == "POST":
            file_format = request.POST.get("format", "")
            if file_format not in services.AUDIT_REPORT_FORMATS:
                return HttpResponse("Unknown format.", status=400, content_type="text/plain")
            content = services.audit_report_download(actor=Actor.for_user(request.user), start=start, end=end,
                                                     file_format=file_format)
            content_type = "text/csv; charset=utf-8" if file_format == "csv" else "application/json"
            response = HttpResponse(content, content_type=content_type)
            response["Content-Disposition"] = (f'attachment; filename="audit-report-{start.isoformat()}-'
                                               f'{end.isoformat()}.{file_format}"')
            return response
        report = selectors.audit_report(start=start, end=end)
        context["report"] = report
        context["exception_events"] = {e["kind"]: e["event_ids"] for e in report["exceptions"]}
        return TemplateResponse(request, "admin/compliance/audit_report.html", context)
