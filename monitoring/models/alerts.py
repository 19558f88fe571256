"""Alerts (`alrt_`) and the staff-editable rules the minute job evaluates (monitoring.alerts)."""

from __future__ import annotations

from django.db import models

from core.ids import PublicIdField
from core.models import ActorStamped, Timestamped


class Severity(models.TextChoices):
    """Ranked low < medium < high < critical (`monitoring.alerts.rank`)."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_ORDER = [s.value for s in Severity]


class AlertRule(ActorStamped, Timestamped):
    """What the minute job checks (`kind` with its `params`), where (`route`), over what window, and who
    is told. Saved through `alert_rule_save` (params validated per kind, audited)."""

    class Kind(models.TextChoices):
        ERROR_RATE = "error_rate", "REST error rate per route above a threshold"
        LATENCY_P95 = "latency_p95", "REST p95 latency per route above a threshold"
        PAYMENT_SUCCESS_DROP = "payment_success_drop", "Payment success rate below its baseline (z-score)"
        PROVIDER_DECLINE_JUMP = "provider_decline_jump", "A provider's decline rate jumped"
        OUTBOX_BACKLOG = "outbox_backlog", "Outbox (Celery work) backlog: pending count or age"
        AUDIT_CHAIN = "audit_chain", "The last audit-chain verification failed"
        DISK_SPACE = "disk_space", "Free disk space below a threshold"
        SOURCE = "source", "A source registered by an upper layer (webhooks: endpoint disabled)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    params = models.JSONField(default=dict, blank=True,
                              help_text="Thresholds per kind (docs/MONITORING.md); missing keys take the defaults.")
    route = models.CharField(max_length=200, blank=True, help_text=(
        'Route filter for error_rate / latency_p95: a route pattern ("POST /api/v1/transfers") or a glob '
        '("* /api/v1/payments*"); empty: every route.'))
    window_minutes = models.PositiveIntegerField(default=5, help_text="The period each evaluation looks back over.")
    recipients = models.JSONField(default=list, blank=True,
                                  help_text="E-mail addresses told of created/resolved alerts.")
    severity_floor = models.CharField(max_length=10, choices=Severity.choices, default=Severity.LOW,
                                      help_text="The computed severity is never below this.")
    severity_override = models.CharField(max_length=10, choices=Severity.choices, blank=True,
                                         help_text="If set, every alert of this rule has this severity.")
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, help_text="Why the last evaluation failed, if it did.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Alert(ActorStamped, Timestamped):
    """One condition, however many times it was seen: a duplicate (the same `dedup_key` while the alert is
    open or acknowledged) folds into it (`occurrence_count`, `last_seen`)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    id = PublicIdField(prefix="alrt")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    source = models.CharField(max_length=60, help_text="The rule kind, a registered source, or manual.")
    rule = models.ForeignKey(AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
    title = models.CharField(max_length=200)
    dedup_key = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField(help_text="Why it fired, with the numbers (latest occurrence).")
    details = models.JSONField(default=dict, blank=True)
    rank_score = models.PositiveSmallIntegerField(default=0, help_text="0-100: impact plus abnormality.")
    rank_reason = models.TextField(blank=True, help_text="Why the alert has its severity.")
    impact = models.JSONField(default=dict, blank=True,
                              help_text='Affected volume and amounts: {"volume": 12, "amounts": {"USD": "10.50"}}.')
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    occurrence_count = models.PositiveIntegerField(default=1)
    acknowledged_by = models.CharField(max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Set once each notification (e-mail) went out: a folded duplicate never sends again.
    created_notified_at = models.DateTimeField(null=True, blank=True)
    resolved_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], condition=~models.Q(status="resolved"),
                                    name="alert_one_active_per_dedup_key"),
        ]
        indexes = [models.Index(fields=["status", "created"], name="alert_status_created_idx")]
        permissions = [("acknowledge_alert", "Can acknowledge alerts"), ("resolve_alert", "Can resolve alerts")]

    def __str__(self) -> str:
        return f"{self.pk} [{self.severity}] {self.title}"


class AlertNote(ActorStamped):
    """Who said what about an alert, and when (staff notes, the automatic resolution's note)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    created = models.DateTimeField()

    class Meta:
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return f"{self.alert_id} note {self.created:%Y-%m-%d %H:%M}"
