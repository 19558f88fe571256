"""The health part in the admin: the system status page (the score, its formula and each component, checked
live on every view, above the history of recorded checks), worker heartbeats and ledger verifications."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin_base import ReadOnlyAdmin, latency_display

from . import health
from .models import HealthCheck, LedgerVerification, WorkerHeartbeat


def components_table(components: list[dict[str, Any]]) -> SafeString:
    """Each component's state (coloured by class: the CSP refuses style attributes), message, details and time;
    on a narrow screen each component is a block of its own."""
    rows = [{**c, "details_json": json.dumps(c.get("details", {}), indent=1, sort_keys=True, default=str)}
            for c in components]
    return SafeString(render_to_string("admin/monitoring/health_components.html", {"components": rows}))


@admin.register(HealthCheck)
class HealthCheckAdmin(ReadOnlyAdmin):
    """System status: a live check on top, the recorded checks (the minutely job) below."""

    list_display = ("checked_at", "score", "state", "not_ok", "duration", "source")
    list_filter = ("state",)
    date_hierarchy = "checked_at"
    fields = ("id", "checked_at", "score", "state", "formula", "duration", "source", "components_shown")
    readonly_fields = fields
    change_list_template = "admin/monitoring/healthcheck/change_list.html"
    duration = latency_display(description="Took")

    @admin.display(description="Not ok")
    def not_ok(self, obj: HealthCheck) -> str:
        return ", ".join(f"{c['name']} {c['state']}" for c in obj.components if c["state"] != "ok") or "-"

    @admin.display(description="Components")
    def components_shown(self, obj: HealthCheck) -> SafeString:
        return components_table(obj.components)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        report = health.run_checks()
        data = health.report_data(report)
        context = {"title": "System status", "health_live": data,
                   "health_live_table": components_table(data["components"]), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("worker", "last_seen", "first_seen", "beats")
    fields = ("worker", "first_seen", "last_seen", "beats")
    readonly_fields = fields


@admin.register(LedgerVerification)
class LedgerVerificationAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "ok", "problem_count", "entries", "accounts", "source")
    list_filter = ("ok",)
    date_hierarchy = "started_at"
    fields = ("id", "started_at", "finished_at", "ok", "problem_count", "problems_shown", "entries", "postings",
              "accounts", "source")
    readonly_fields = fields

    @admin.display(description="Problems (first 20)")
    def problems_shown(self, obj: LedgerVerification) -> str:
        return format_html('<pre class="bo-json">{}</pre>', "\n".join(obj.problems) or "-")
