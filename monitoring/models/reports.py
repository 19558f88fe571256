"""Saved custom reports: a named definition (monitoring.analytics.reports) staff run again from the admin."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.ids import PublicIdField
from core.models import Timestamped


class SavedReport(Timestamped):
    """A report definition under a name; running it reads the data of its period again (nothing is stored)."""

    id = PublicIdField(prefix="srpt")
    name = models.CharField(max_length=100)
    definition = models.JSONField(
        help_text="metrics, dimensions, filters, from, to, limit (validated as generate_custom_report validates it)."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="saved_reports",
        help_text="Who saved it first.",
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "saved report"

    def __str__(self) -> str:
        return self.name
