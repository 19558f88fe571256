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
