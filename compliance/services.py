"""Writes of the compliance app."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings

from core import clock, outbox
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, run_in_transaction, use_case
from core.errors import DomainError, PermissionDenied
from core.ids import get_by_public_id
from core.models import stamp

from . import selectors
from .audit import ComplianceAction
from .errors import ExportExpired, ExportNotFound, ExportNotReady
from .models import ComplianceExport, PciAssessment


# --- PCI self-assessment ---------------------------------------------------------------------------
@use_case
def pci_assessment_run(*, actor: Actor) -> PciAssessment:
    """Runs every PCI check and records the result (an audited write)."""
    from . import pci

    result = pci.run_assessment()
    checks = result["checks"]
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in pci.STATUSES}
    assessment = PciAssessment(score=result["score"], checks=checks, passed=counts[pci.PASSED],
                               failed=counts[pci.FAILED], not_applicable=counts[pci.NOT_APPLICABLE],
                               created=result["assessed_at"])
    stamp(assessment, actor=actor)
    assessment.save(force_insert=True)
    audit_record(action=ComplianceAction.PCI_ASSESSMENT_RECORDED, actor=actor, obj=assessment,
                 details={"score": assessment.score, **counts,
                          "failed_checks": [c["id"] for c in checks if c["status"] == pci.FAILED]})
    return assessment







# --- exports ---------------------------------------------------------------------------------------
EXPORT_TASK = "compliance.run_export"
EXPORT_PERMISSION = "compliance.export_compliance_data"
PII_PERMISSION = "compliance.export_personal_data"


def _require_perm(actor: Actor, permission: str) -> None:
    """Staff and keys' owners need the permission; tasks and the system act for the platform."""
    if actor.user is not None and not actor.user.has_perm(permission):
        raise PermissionDenied(details={"required_permission": permission})
    if actor.user is None and actor.kind in ("user", "api_key"):
        raise PermissionDenied(details={"required_permission": permission})


@use_case
def compliance_export_create(*, actor: Actor, kind: str, format: str, period_from: dt.date, period_to: dt.date,
                             include_pii: bool = False) -> ComplianceExport:
    """A pending export and its task (sent by the outbox after commit). Including personal data needs
    `compliance.export_personal_data` besides the export permission."""
    _require_perm(actor, EXPORT_PERMISSION)
    if include_pii:
        _require_perm(actor, PII_PERMISSION)
    export = ComplianceExport(kind=kind, format=format, period_from=period_from, period_to=period_to,
                              include_pii=include_pii)
    stamp(export, actor=actor)
    export.save(force_insert=True)
    audit_record(action=ComplianceAction.EXPORT_CREATED, actor=actor, obj=export,
                 details={"kind": kind, "format": format, "from": period_from.isoformat(),
                          "to": period_to.isoformat(), "include_pii": include_pii})
    outbox.enqueue(EXPORT_TASK, export.id)
    return export


def export_lock(export_id: str) -> ComplianceExport:
    require_transaction()
    return get_by_public_id(ComplianceExport.objects.select_for_update(), export_id, field="export_id",
                            error=ExportNotFound)


def _claim(export_id: str) -> ComplianceExport | None:
    export = export_lock(export_id)
    if export.status != ComplianceExport.Status.PENDING:
        return None  # a second delivery of the task: the first one has it
    from . import exports

    export.status = ComplianceExport.Status.RUNNING
    export.started_at = clock.now()
    export.rows_total = exports.export_queryset(export.kind, export.period_from, export.period_to).count()
    export.save(update_fields=["status", "started_at", "rows_total"])
    return export


@use_case(steps=True)
def compliance_export_run(*, actor: Actor, export_id: str) -> ComplianceExport:
    """Writes a pending export's file, saving progress after every chunk; then succeeded (with the
    file's size, SHA-256 and expiry) or failed with the error, which is re-raised (never swallowed).
    An export that is not pending any more (a duplicate delivery of its task) is returned as it is."""
    from . import exports

    export = run_in_transaction(lambda: _claim(export_id))
    if export is None:
        return ComplianceExport.objects.get(pk=export_id)
    name = exports.file_name(export)

    def progress(written: int) -> None:
        run_in_transaction(lambda: ComplianceExport.objects.filter(pk=export_id).update(rows_written=written))

    try:
        written, size, digest = exports.write_export(
            export.kind, export.format, export.period_from, export.period_to, include_pii=export.include_pii,
            path=exports.export_dir() / name, on_chunk=progress)
    except Exception as exc:
        code = exc.code if isinstance(exc, DomainError) else "internal_error"
        message = f"{type(exc).__name__}: {exc}"[:500]
        run_in_transaction(lambda: _finish_failed(actor, export_id, code, message))
        raise
    return run_in_transaction(lambda: _finish(actor, export_id, name, written, size, digest))


def _finish(actor: Actor, export_id: str, name: str, written: int, size: int, digest: str) -> ComplianceExport:
    export = export_lock(export_id)
    now = clock.now()
    export.status = ComplianceExport.Status.SUCCEEDED
    export.rows_written = export.rows_total = written
    export.file_path, export.size, export.sha256 = name, size, digest
    export.completed_at = now
    export.expires_at = now + dt.timedelta(hours=settings.COMPLIANCE_EXPORT_TTL_HOURS)
    export.save(update_fields=["status", "rows_written", "rows_total", "file_path", "size", "sha256",
                               "completed_at", "expires_at"])
    audit_record(action=ComplianceAction.EXPORT_COMPLETED, actor=actor, obj=export,
                 details={"rows": written, "size": size, "sha256": digest})
    return export


def _finish_failed(actor: Actor, export_id: str, code: str, message: str) -> None:
    _mark_failed(actor, export_lock(export_id), code, message)


def _mark_failed(actor: Actor, export: ComplianceExport, code: str, message: str) -> None:
    export.status = ComplianceExport.Status.FAILED
    export.error_code, export.error_message = code, message
    export.completed_at = clock.now()
    export.save(update_fields=["status", "error_code", "error_message", "completed_at"])
    audit_record(action=ComplianceAction.EXPORT_FAILED, actor=actor, obj=export, outcome="failure",
                 details={"error_code": code})


@use_case
def compliance_export_download(*, actor: Actor, export_id: str) -> tuple[ComplianceExport, Path]:
    """Authorises a download of an export's file (the export permission, and the personal-data one when
    the export includes it), before it expires; audited. Returns the export and its file's path."""
    from . import exports

    _require_perm(actor, EXPORT_PERMISSION)
    export = get_by_public_id(ComplianceExport.objects.all(), export_id, field="export_id", error=ExportNotFound)
    if export.include_pii:
        _require_perm(actor, PII_PERMISSION)
    if export.status != ComplianceExport.Status.SUCCEEDED:
        raise ExportNotReady(details={"export_id": export.id, "status": export.status})
    path = exports.export_dir() / export.file_path
    if export.expires_at is None or clock.now() >= export.expires_at or export.file_deleted_at or not path.is_file():
        raise ExportExpired(details={"export_id": export.id, "expires_at": clock.isoformat(export.expires_at)})
    audit_record(action=ComplianceAction.EXPORT_DOWNLOADED, actor=actor, obj=export,
                 details={"kind": export.kind, "format": export.format, "include_pii": export.include_pii,
                          "sha256": export.sha256})
    return export, path


@use_case
def compliance_export_fail_interrupted(*, actor: Actor) -> int:
    """Exports running for longer than COMPLIANCE_EXPORT_STALE_HOURS lost their worker (the outbox sent
    the task once): marked failed (`export_interrupted`, audited) so nobody waits for them; returns how many."""
    cutoff = clock.now() - dt.timedelta(hours=settings.COMPLIANCE_EXPORT_STALE_HOURS)
    stale = list(ComplianceExport.objects.select_for_update(skip_locked=True)
                 .filter(status=ComplianceExport.Status.RUNNING, started_at__lt=cutoff))
    for export in stale:
        _mark_failed(actor, export, "export_interrupted", "The export's worker stopped before it finished; "
                                                          "request a new export.")
    return len(stale)


@use_case
def compliance_export_purge_expired(*, actor: Actor) -> int:
    """Deletes the files of expired exports (each audited); returns how many."""
    from . import exports

    now = clock.now()
    expired = list(ComplianceExport.objects.select_for_update(skip_locked=True)
                   .filter(expires_at__lte=now, file_deleted_at__isnull=True).exclude(file_path=""))
    for export in expired:
        (exports.export_dir() / export.file_path).unlink(missing_ok=True)
        export.file_deleted_at = now
        export.save(update_fields=["file_deleted_at"])
        audit_record(action=ComplianceAction.EXPORT_FILE_DELETED, actor=actor, obj=export, details={})
    return len(expired)








# --- audit report (report helper) -------------------------------------------------------------------

AUDIT_REPORT_OBJECT_TYPE = "compliance.auditreport"
AUDIT_REPORT_FORMATS = ("csv", "json")


@use_case
def audit_report_download(*, actor: Actor, start: dt.date, end: dt.date, file_format: str) -> str:
    """The audit report of start..end as a file (CSV rows or the JSON the API answers). A download is
    an export: it is audited (`compliance.audit_report_downloaded`) in the transaction that builds it;
    the event is not part of the file it records."""
    if file_format not in AUDIT_REPORT_FORMATS:
        raise ValueError(f"Unknown audit report format {file_format!r}.")
    report = selectors.audit_report(start=start, end=end)
    content = (selectors.audit_report_csv(report) if file_format == "csv"
               else json.dumps(report, indent=2, sort_keys=False) + "\n")
    audit_record(action=ComplianceAction.AUDIT_REPORT_DOWNLOADED, actor=actor, object_type=AUDIT_REPORT_OBJECT_TYPE,
                 object_id=f"{start.isoformat()}..{end.isoformat()}",
                 details={"from": start.isoformat(), "to": end.isoformat(), "format": file_format,
                          "total_events": report["total_events"]})
    return content
