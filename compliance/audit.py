"""Audit actions of the compliance app (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


# Exports (compliance/exports.py): the members from EXPORT_CREATED to EXPORT_FILE_DELETED.
@declare_actions
class ComplianceAction(models.TextChoices):
    EXPORT_CREATED = "compliance.export_created", "A compliance export was requested"
    EXPORT_COMPLETED = "compliance.export_completed", "A compliance export's file was written"
    EXPORT_FAILED = "compliance.export_failed", "A compliance export failed"
    EXPORT_DOWNLOADED = "compliance.export_downloaded", "A compliance export's file was downloaded"
    EXPORT_FILE_DELETED = "compliance.export_file_deleted", "An expired compliance export's file was deleted"
