"""Audit actions of the error log (monitoring.errorlog)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class ErrorsAction(models.TextChoices):
    ERROR_REPORTED = "error.reported", "An error was reported through log_error (REST or MCP)"
    ERROR_RESOLVED = "error_group.resolved", "An error group was marked resolved"
