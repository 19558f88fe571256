"""Audit actions of saved custom reports (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class ReportsAction(models.TextChoices):
    SAVED_REPORT_CREATED = "saved_report.created", "A custom report definition was saved under a new name"
    SAVED_REPORT_UPDATED = "saved_report.updated", "A saved custom report was changed"
