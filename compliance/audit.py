"""Audit actions of the compliance app (core.audit)."""

from django.db import models

from core.audit import declare_actions


# --- Audit chain retention (compliance.archive) ---------------------------------------------------
@declare_actions
class ComplianceAction(models.TextChoices):
    AUDIT_EVENTS_ARCHIVED = "audit.events_archived", "Sealed audit events were moved to a verified archive file"
    AUDIT_ARCHIVE_PURGED = "audit.archive_purged", "An audit archive file past its retention was deleted"
