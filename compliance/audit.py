"""Audit actions of the compliance app (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class ComplianceAction(models.TextChoices):
    # --- audit report (report helper) ---
    AUDIT_REPORT_DOWNLOADED = "compliance.audit_report_downloaded", "An audit report was downloaded (CSV or JSON)"
