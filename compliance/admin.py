"""The compliance pages of the admin."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core import clock
from core.admin_base import ReadOnlyAdmin
from core.context import Actor
from core.models import AuditEvent

from . import selectors, services
from .serializers import AuditReportInput

# --- audit events and the audit report (report helper) ----------------------------------------------

DEFAULT_REPORT_DAYS = 7


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail, read-only (PostgreSQL refuses changes too); the audit report is a page of it."""

    list_display = ("occurred_at", "action", "outcome", "actor_type", "actor_label", "object_type", "object_id",
                    "ip_address")
    list_filter = ("outcome", "actor_type")
    search_fields = ("=id", "=action", "=actor_id", "=object_id", "=request_id")
    date_hierarchy = "occurred_at"
    fields = ("id", "seq", "occurred_at", "action", "outcome", "actor_type", "actor_id", "actor_label",
              "object_type", "object_id", "request_id", "ip_address", "user_agent", "shown_details", "prev_hash",
              "hash")
    readonly_fields = fields
    change_list_template = "admin/core/auditevent/change_list.html"

    @admin.display(description="Details")
    def shown_details(self, obj: AuditEvent) -> str:
        return format_html('<pre class="bo-json">{}</pre>', json.dumps(obj.details, indent=2, sort_keys=True))

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
