"""Public compliance operations. Names are the MCP tool names: a contract."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.context import Actor
from core.operations import Operation, register
from core.pagination import Page

from . import selectors, services
from .models import ComplianceExport
from .serializers import (
    AuditEventListInput,
    AuditEventSerializer,
    AuditReportInput,
    AuditReportSerializer,
    ComplianceExportCreateInput,
    ComplianceExportIdInput,
    ComplianceExportSerializer,
    PciAssessmentSerializer,
    PciComplianceSerializer,
)

# --- PCI self-assessment ---------------------------------------------------------------------------

COMPLIANCE = ("compliance",)

register(Operation(
    name="validate_pci_compliance", title="Validate PCI DSS compliance",
    description=("Runs the PCI DSS v4.0.1 self-assessment against the running system now and returns a score "
                 "(0-100: the share of applicable checks passed) and each check with its id, requirement (e.g. "
                 "8.4.2), title, status (passed, failed, not_applicable) and evidence (counts, names, setting "
                 "values, sample sizes; card numbers only as their last four digits). Reads only; nothing is "
                 "recorded. Takes no arguments."),
    handler=selectors.pci_assessment_live, scope="compliance:read",
    permission="compliance.view_pciassessment", output=PciComplianceSerializer, tags=COMPLIANCE,
))
register(Operation(
    name="run_pci_assessment", title="Run and record a PCI assessment",
    description=("Runs the PCI DSS self-assessment and records it (pci_) with its score and every check's "
                 "evidence; audited as pci_assessment.recorded. Staff only, from the admin."),
    handler=services.pci_assessment_run, scope="compliance:write",
    permission="compliance.add_pciassessment", output=PciAssessmentSerializer, read_only=False,
    success_status=201, doors=frozenset({"admin"}), tags=COMPLIANCE,
))








# --- exports ---------------------------------------------------------------------------------------
def _export_create(*, actor: Actor, kind: str, format: str, include_pii: bool = False,
                   **period: dt.date) -> ComplianceExport:
    return services.compliance_export_create(actor=actor, kind=kind, format=format, period_from=period["from"],
                                             period_to=period["to"], include_pii=include_pii)


def _export_get(*, actor: Actor, export_id: str) -> ComplianceExport:
    return selectors.compliance_export_get(export_id=export_id)


register(Operation(
    name="export_compliance_data", title="Export compliance data",
    description=("Starts an export of audit_events, payments, refunds, ledger_entries or customers created in a "
                 "period of UTC days (from, to inclusive, YYYY-MM-DD, at most 366 days) as csv or jsonl. It runs "
                 "in the background: the answer is the export's id and status (pending); follow it with "
                 "get_compliance_export for progress and, once succeeded, a download_url valid for 24 hours "
                 "(the file is downloaded by staff or over REST with the export permission, not through this "
                 "tool). Personal data (e-mail, name, IP address) is masked unless include_pii=true, which "
                 "needs the compliance.export_personal_data permission. Money is decimal strings next to the "
                 "currency; card numbers never appear. Errors: validation_error, permission_denied."),
    handler=_export_create, scope="compliance:write", permission="compliance.export_compliance_data",
    input=ComplianceExportCreateInput, output=ComplianceExportSerializer, read_only=False, success_status=202,
    tags=COMPLIANCE,
))
register(Operation(
    name="get_compliance_export", title="Get compliance export",
    description=("Returns one compliance export by its exp_ id: status (pending, running, succeeded, failed), "
                 "progress (rows_written of rows_total, percent), the error of a failed one, and download_url "
                 "while succeeded and not expired. Errors: not_found."),
    handler=_export_get, scope="compliance:read", permission="compliance.view_complianceexport",
    input=ComplianceExportIdInput, output=ComplianceExportSerializer, tags=COMPLIANCE,
))





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
