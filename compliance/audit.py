"""Audit actions of the compliance app (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


# --- PCI self-assessment ---------------------------------------------------------------------------
@declare_actions
class ComplianceAction(models.TextChoices):
    PCI_ASSESSMENT_RECORDED = "pci_assessment.recorded", "A PCI DSS self-assessment was run and recorded"
