"""What the health part stores: worker heartbeats, recorded health checks and the ledger's verifications."""

from __future__ import annotations

from django.db import models

from core.ids import PublicIdField


class WorkerHeartbeat(models.Model):
    """The last minute a Celery worker ran the heartbeat task (beat queues it every minute).

    One row per worker (its hostname), updated in place: a worker that stops writing goes stale,
    and the `worker` health component says so."""

    worker = models.CharField(max_length=200, unique=True, help_text="The worker's hostname (celery@host).")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    beats = models.PositiveBigIntegerField(default=0, help_text="Heartbeats recorded since first seen.")

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class HealthCheck(models.Model):
    """One recorded run of every health check (the minutely job, the demo): the score, its formula and
    each component's state, message, details and timing then."""

    class State(models.TextChoices):
        OK = "ok", "ok"
        DEGRADED = "degraded", "degraded"
        DOWN = "down", "down"

    id = PublicIdField(prefix="hck")
    checked_at = models.DateTimeField(db_index=True)
    score = models.PositiveSmallIntegerField(help_text="0-100, weighted by component (see formula).")
    state = models.CharField(max_length=8, choices=State.choices,
                             help_text="ok when every component is; down when the database is; degraded otherwise.")
    formula = models.TextField()
    components = models.JSONField(default=list, help_text="Each: name, weight, state, message, details, duration_ms.")
    duration_ms = models.FloatField()
    source = models.CharField(max_length=40, help_text="Who ran it: the job, the demo seed.")

    class Meta:
        ordering = ["-checked_at"]
        get_latest_by = "checked_at"
        verbose_name = "health check"
        verbose_name_plural = "system status"

    def __str__(self) -> str:
        return f"health {self.score}/100 {self.state} @ {self.checked_at:%Y-%m-%d %H:%M:%S}"


class LedgerVerification(models.Model):
    """The result of one ledger verification (the nightly `wallets.verify_ledger`, `manage.py verify_ledger`)."""

    id = PublicIdField(prefix="lvr")
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    problem_count = models.PositiveIntegerField()
    problems = models.JSONField(default=list, help_text="The first problems found (at most 20).")
    entries = models.PositiveBigIntegerField()
    postings = models.PositiveBigIntegerField()
    accounts = models.PositiveBigIntegerField()
    source = models.CharField(max_length=40, help_text="wallets.verify_ledger (the nightly job) or the command.")

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"ledger {'OK' if self.ok else 'BROKEN'} @ {self.started_at:%Y-%m-%d %H:%M}"
