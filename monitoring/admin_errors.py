"""The error log in the admin: groups with their counts and the last occurrence; resolving is the
`resolve_error` operation (core.admin_ops), as over REST and MCP."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin_base import ReadOnlyAdmin, ReadOnlyInline
from core.admin_ops import OperationActionsMixin, operation_action

from .models import ErrorGroup, ErrorOccurrence


class OccurrenceInline(ReadOnlyInline):
    model = ErrorOccurrence
    fields = ("occurred_at", "level", "request_id", "route", "message")
    ordering = ("-occurred_at", "-id")
    max_num = 0
    verbose_name_plural = "Recent occurrences"


@admin.register(ErrorGroup)
class ErrorGroupAdmin(OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("title", "level", "count", "last_seen", "first_seen", "resolved", "culprit")
    list_display_links = ("title",)
    list_filter = ("resolved", "level", "kind")
    search_fields = ("=id", "title", "culprit", "source", "=sample_request_id")
    date_hierarchy = "last_seen"
    fieldsets = (
        (None, {"fields": ("id", "title", "level", "kind", "culprit", "source", "exception_type", "count",
                           "first_seen", "last_seen")}),
        ("Resolution", {"fields": ("resolved", "resolved_at", "resolved_by", "reopened_at")}),
        ("Last occurrence (redacted)", {"fields": ("sample_request_id", "sample_route", "sample_message",
                                                   "traceback_block", "details_block")}),
        ("Grouping", {"classes": ("collapse",), "fields": ("fingerprint", "grouping_block")}),
    )
    readonly_fields = ("id", "title", "level", "kind", "culprit", "source", "exception_type", "count", "first_seen",
                       "last_seen", "resolved", "resolved_at", "resolved_by", "reopened_at", "sample_request_id",
                       "sample_route", "sample_message", "traceback_block", "details_block", "fingerprint",
                       "grouping_block")
    inlines = [OccurrenceInline]
    operation_actions = (
        operation_action("resolve_error", label="Resolve", id_field="error_id", when=lambda group: not group.resolved),
    )

    @admin.display(description="Traceback")
    def traceback_block(self, obj: ErrorGroup) -> SafeString:
        return format_html('<pre class="bo-trace">{}</pre>', obj.sample_traceback or "-")

    @admin.display(description="Details")
    def details_block(self, obj: ErrorGroup) -> SafeString:
        return format_html('<pre class="bo-trace">{}</pre>', json.dumps(obj.sample_details, indent=2, default=str))

    @admin.display(description="Grouped by")
    def grouping_block(self, obj: ErrorGroup) -> SafeString:
        return format_html('<pre class="bo-trace">{}</pre>', obj.grouping)
