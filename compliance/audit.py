"""Audit actions of the compliance app (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class ComplianceAction(models.TextChoices):
    # Audit chain retention (compliance.archive)
    AUDIT_EVENTS_ARCHIVED = "audit.events_archived", "Sealed audit events were moved to a verified archive file"
    AUDIT_ARCHIVE_PURGED = "audit.archive_purged", "An audit archive file past its retention was deleted"
    # PCI self-assessment
    PCI_ASSESSMENT_RECORDED = "pci_assessment.recorded", "A PCI DSS self-assessment was run and recorded"
    # Exports (compliance/exports.py): EXPORT_CREATED to EXPORT_FILE_DELETED
    EXPORT_CREATED = "compliance.export_created", "A compliance export was requested"
    EXPORT_COMPLETED = "compliance.export_completed", "A compliance export's file was written"
    EXPORT_FAILED = "compliance.export_failed", "A compliance export failed"
    EXPORT_DOWNLOADED = "compliance.export_downloaded", "A compliance export's file was downloaded"
    EXPORT_FILE_DELETED = "compliance.export_file_deleted", "An expired compliance export's file was deleted"
    # Audit report (compliance.selectors.audit_report)
    AUDIT_REPORT_DOWNLOADED = "compliance.audit_report_downloaded", "An audit report was downloaded (CSV or JSON)"
