"""The error log: occurrences grouped as Sentry groups issues (`errg_`).

One row per fingerprint (exception type plus the innermost frames of our own code, or a reported
message's template): how many times it happened, first and last seen, and the last occurrence as the
sample (request id, route, message and traceback, all redacted before they are stored). A resolved
group reopens on its next occurrence.
"""

from __future__ import annotations

from django.db import models

from core.ids import PublicIdField


class ErrorGroup(models.Model):
    class Kind(models.TextChoices):
        EXCEPTION = "exception", "Exception"
        MESSAGE = "message", "Reported message"

    class Level(models.TextChoices):
        DEBUG = "debug"
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"
        FATAL = "fatal"

    id = PublicIdField(prefix="errg")
    fingerprint = models.CharField(max_length=64, unique=True, help_text="sha256 of the grouping basis.")
    grouping = models.TextField(help_text="What the fingerprint is made of: type and frames, or source and template.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    level = models.CharField(max_length=8, choices=Level.choices, help_text="The last occurrence's level.")
    title = models.CharField(max_length=300)
    culprit = models.CharField(max_length=300, blank=True, help_text='Where: "payments.services in capture".')
    source = models.CharField(max_length=200, blank=True, help_text="Logger name or the reporter's source.")
    exception_type = models.CharField(max_length=200, blank=True)
    count = models.PositiveBigIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True, help_text="When it last happened again after a resolve.")
    # The last occurrence (redacted).
    sample_request_id = models.CharField(max_length=128, blank=True)
    sample_route = models.CharField(max_length=300, blank=True)
    sample_message = models.TextField(blank=True)
    sample_traceback = models.TextField(blank=True)
    sample_details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = "error group"
        permissions = [("resolve_errorgroup", "Can resolve error groups")]
        indexes = [models.Index(fields=["resolved", "last_seen"], name="errorgroup_resolved_seen_idx")]

    def __str__(self) -> str:
        return f"{self.pk} {self.title[:80]}"


class ErrorOccurrence(models.Model):
    """One of a group's recent occurrences (the newest `monitoring.errorlog.RECENT_OCCURRENCES` are kept)."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="occurrences")
    occurred_at = models.DateTimeField()
    level = models.CharField(max_length=8, choices=ErrorGroup.Level.choices)
    request_id = models.CharField(max_length=128, blank=True)
    route = models.CharField(max_length=300, blank=True)
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["group", "-occurred_at", "-id"], name="erroroccurrence_recent_idx")]

    def __str__(self) -> str:
        return f"{self.group_id} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"
