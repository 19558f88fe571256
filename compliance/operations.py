"""Public operations of the compliance app (scope area: compliance)."""

from typing import Any

from core.context import Actor
from core.operations import Operation, register
from core.pagination import Page

from . import selectors
from .serializers import AuditEventListInput, AuditEventSerializer, AuditReportInput, AuditReportSerializer

# --- audit trail and audit report (report helper) ----------------------------------------------------


def _audit_trail(*, actor: Actor, **filters: Any) -> Page:
    return selectors.audit_event_list(**filters)


def _audit_report(*, actor: Actor, **period: Any) -> dict[str, Any]:
    return selectors.audit_report(start=period["from"], end=period["to"])


register(Operation(
    name="get_audit_trail", title="List audit events",
    description=("Lists audit events (aud_) newest first: who (actor type, id, label), what (action, its current "
                 "name; the list is docs/AUDIT.md), when (occurred_at, UTC), where from (request_id, ip_address, "
                 "user_agent), outcome (success, failure, denied), the object affected, details (amounts in minor "
                 "units) and the chain seq and hash once sealed. Filter by action, actor_id, object_id and time "
                 "(created_gte, created_lte, ISO 8601); page with limit (max 100) and cursor. Read-only. Errors: "
                 "validation_error."),
    handler=_audit_trail, scope="compliance:read", permission="core.view_auditevent",
    input=AuditEventListInput, output=AuditEventSerializer, many=True, tags=("compliance",),
))
register(Operation(
    name="generate_audit_report", title="Audit report for a period",
    description=("The audit report of the UTC days from..to (YYYY-MM-DD, to inclusive, at most 366 days): total "
                 "events, counts by outcome, by action (with outcomes) and by actor, money totals by action and "
                 "currency (decimal strings, major units) of events carrying an amount, and the exceptions worth a "
                 "look (large_refunds, manual_adjustments, approval_decisions, failed_logins, role_changes, "
                 "off_hours_staff_activity, exports), each with its count and the newest event ids behind it "
                 "(read them with get_audit_trail). Read-only, nothing is stored. Errors: validation_error (from, "
                 "to)."),
    handler=_audit_report, scope="compliance:read", permission="core.view_auditevent",
    input=AuditReportInput, output=AuditReportSerializer, tags=("compliance",),
))
