"""The request log in the admin: a list filtered by key, status, route, tool and time, and each
entry's page with its redacted bodies (read-only: rows are written by the log, purged by age)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin_base import LargeTableAdminMixin, ReadOnlyAdmin, latency_display

from .models import RequestLog
from .requestlog import retention_cutoff


class _StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("2", "2xx success"), ("4", "4xx refused"), ("5", "5xx failed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in ("2", "4", "5"):
            low = int(value) * 100
            return queryset.filter(status__gte=low, status__lte=low + 99)
        return queryset


class _DistinctFilter(admin.SimpleListFilter):
    """The values seen in the retained log (at most 100), as choices."""

    column = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = (RequestLog.objects.filter(created__gte=retention_cutoff()).exclude(**{self.column: ""})
                  .order_by(self.column).values_list(self.column, flat=True).distinct()[:100])
        return [(value, value) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.column: value}) if value else queryset


class _RouteFilter(_DistinctFilter):
    title = "route"
    parameter_name = "route"
    column = "route"


class _ToolFilter(_DistinctFilter):
    title = "MCP tool"
    parameter_name = "tool"
    column = "tool"


class _KeyFilter(admin.SimpleListFilter):
    title = "API key"
    parameter_name = "api_key_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        rows = (RequestLog.objects.filter(created__gte=retention_cutoff()).exclude(api_key_id="")
                .order_by("api_key_id").values_list("api_key_id", "api_key_name").distinct()[:100])
        return [(key_id, f"{name} ({key_id})") for key_id, name in rows]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(api_key_id=value) if value else queryset


def _json_block(value: Any, truncated: bool) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    note = " (truncated)" if truncated else ""
    return format_html('<pre class="bo-json">{}</pre>{}', text, note)


@admin.register(RequestLog)
class RequestLogAdmin(LargeTableAdminMixin, ReadOnlyAdmin):
    """Every /api/ request and MCP tool call of the last REQUEST_LOG_RETENTION_DAYS days (bodies redacted)."""

    list_display = ("created", "endpoint", "status", "duration", "key", "request_id")
    list_display_links = ("created", "endpoint")
    list_filter = ("kind", _StatusClassFilter, _KeyFilter, _RouteFilter, _ToolFilter, "method")
    search_fields = ("=id", "=request_id", "=api_key_id", "=idempotency_key", "=error_code", "=route", "=tool")
    date_hierarchy = "created"
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("id", "created", "kind", "method", "route", "tool", "path", "status", "error_code",
                           "duration_ms", "request_id", "idempotency_key")}),
        ("Caller", {"fields": ("api_key_id", "api_key_name", "user_id", "username")}),
        ("Bodies (redacted)", {"fields": ("query_shown", "request_shown", "response_shown")}),
    )
    readonly_fields = ("id", "created", "kind", "method", "route", "tool", "path", "status", "error_code",
                       "duration_ms", "request_id", "idempotency_key", "api_key_id", "api_key_name", "user_id",
                       "username", "query_shown", "request_shown", "response_shown")

    @admin.display(description="Route or tool")
    def endpoint(self, obj: RequestLog) -> str:
        return obj.route or f"MCP {obj.tool}"

    duration = latency_display()

    @admin.display(description="API key")
    def key(self, obj: RequestLog) -> str:
        return obj.api_key_name or obj.username or "-"

    @admin.display(description="Query")
    def query_shown(self, obj: RequestLog) -> str:
        return _json_block(obj.query or None, False)

    @admin.display(description="Request body")
    def request_shown(self, obj: RequestLog) -> str:
        return _json_block(obj.request_body, obj.request_truncated)

    @admin.display(description="Response body")
    def response_shown(self, obj: RequestLog) -> str:
        return _json_block(obj.response_body, obj.response_truncated)
