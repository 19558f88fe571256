from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models

from .ids import PublicIdField

if TYPE_CHECKING:
    from .context import Actor


class ActorStamped(models.Model):
    """Who made the row: the actor of the service call that created it (`stamp`)."""

    actor_type = models.CharField(max_length=16, blank=True)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True


class Timestamped(models.Model):
    """Created and last changed, both from the core clock (`stamp`, `touch`), never the database's
    own `now()`, so tests and `run_billing --now` can move time."""

    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        abstract = True


# `obj: Any`: any model whose columns match, whether or not it inherits ActorStamped/Timestamped.
def stamp(obj: Any, *, actor: Actor | None = None, now: dt.datetime | None = None) -> None:
    """Fills a new row's actor columns (when it has them) and its created/updated (when it has them
    and they are empty), from `actor` and the core clock."""
    from . import clock

    now = now or clock.now()
    if actor is not None and hasattr(obj, "actor_type"):
        obj.actor_type, obj.actor_id, obj.actor_label = actor.kind, actor.id[:64], actor.label[:200]
    if hasattr(obj, "created") and getattr(obj, "created", None) is None:
        obj.created = now
    if hasattr(obj, "updated"):
        obj.updated = now


def touch(obj: Any, *fields: str, now: dt.datetime | None = None) -> None:
    """Saves `fields` of a changed row with its `updated` moved to now (one UPDATE)."""
    from . import clock

    obj.updated = now or clock.now()
    obj.save(update_fields=[*fields, "updated"])


class IdempotencyRecord(models.Model):
    """The first response to a write, kept so a retried request gets it again."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=80)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.COMPLETED)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_uniq")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class AuditEvent(models.Model):
    """One business or security event, with the PCI DSS 10.2.2 fields.

    Written in the same transaction as the change it records. The seal columns (`seq`,
    `prev_hash`, `hash`) are filled once, later, by the compliance sealer (`compliance.chain`;
    sealing on every write would serialise all writers on one row). On PostgreSQL `xact_id` is the
    inserting transaction's id (`pg_current_xact_id()`, set by a BEFORE INSERT trigger, bulk inserts
    included), so the sealer never seals past a transaction that may still commit; a trigger refuses
    every other UPDATE and every DELETE but the archiver's (docs/COMPLIANCE.md).
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"
        DENIED = "denied"

    id = PublicIdField(prefix="aud")
    seq = models.BigIntegerField(null=True, unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=80)  # indexed with occurred_at (audit_action_time_idx)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    # Looked up by id alone (filters, search, a payment's audit trail): no index on the type as well.
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    request_id = models.CharField(max_length=140, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, null=True)
    hash = models.CharField(max_length=64, blank=True, null=True)
    xact_id = models.BigIntegerField(null=True, blank=True, editable=False,
                                     help_text="The database transaction that wrote the event (PostgreSQL "
                                               "only): it is sealed once that has ended.")

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # what the sealer reads each minute: the few rows not sealed yet, in sealing order
            models.Index(fields=["occurred_at", "id"], condition=models.Q(seq__isnull=True),
                         name="audit_unsealed_idx"),
            # The audit trail's filters, newest first (compliance.selectors.audit_event_list).
            models.Index(fields=["actor_id", "-occurred_at"], name="audit_actor_time_idx"),
            models.Index(fields=["action", "-occurred_at"], name="audit_action_time_idx"),
            # The changelist's actor type filter: its options read by skipping through this index
            # (core.admin_base.IndexedValuesFilter), the filtered list newest first.
            models.Index(fields=["actor_type", "-occurred_at"], name="audit_actor_type_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id} by {self.actor_label}"


class MLModel(ActorStamped, Timestamped):
    """One trained model of any kind (fraud, churn) in the shared registry (core.ml.registry).

    A model is a candidate until the promotion rule lets it become the one active model of its name;
    the previous active one is then retired (and can come back by a rollback). `metrics` are measured on
    the evaluation set named by `eval_fingerprint`, next to the rules baseline's on the same set."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"

    id = PublicIdField(prefix="mdl")
    name = models.CharField(max_length=40, help_text="What the model predicts, e.g. fraud or churn.")
    version = models.CharField(max_length=60, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CANDIDATE)
    features = models.JSONField(default=list, help_text="Input feature names, in the model's column order.")
    window_start = models.DateTimeField(null=True, blank=True, help_text="First training example's time.")
    window_end = models.DateTimeField(null=True, blank=True, help_text="Last training example's time.")
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True,
                               help_text="Held-out metrics, beside the rules baseline's on the same payments.")
    eval_fingerprint = models.CharField(max_length=64, blank=True, help_text="Which evaluation set.")
    data_fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the training data.")
    artifact = models.BinaryField(help_text="The serialised model.")
    artifact_format = models.CharField(max_length=20)
    promotion = models.JSONField(default=dict, blank=True, help_text="The last promotion decision and why.")
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "machine-learned model"
        ordering = ["-created"]
        indexes = [models.Index(fields=["name", "status"], name="mlmodel_name_status")]
        constraints = [models.UniqueConstraint(fields=["name"], condition=models.Q(status="active"),
                                               name="mlmodel_one_active_per_name")]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"
class Event(ActorStamped):
    """One business change as integrators see it (`core.events.emit`), immutable once written, kept
    `EVENT_RETENTION_DAYS` days."""

    id = PublicIdField(prefix="evt")
    type = models.CharField(max_length=80)
    created = models.DateTimeField(db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, db_index=True)
    data = models.JSONField()
    request_id = models.CharField(max_length=140, blank=True)
    # Set when the relay handed the event to its subscribers (webhook fan-out): the change's own
    # transaction writes only this row; the relay does the rest after commit.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["type", "created"], name="event_type_created_idx"),
                   models.Index(fields=["created"], name="event_undispatched_idx",
                                condition=models.Q(dispatched_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.pk} {self.type}"


class OutboxMessage(models.Model):
    """A Celery task to send once the transaction that wrote this row commits (`core.outbox`).

    The relay (`manage.py outbox_relay`) publishes due rows and marks them sent; a broker that is down
    leaves them due for a later try. A retry that waits (webhook backoff) is a row due later."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["next_attempt_at"], name="outbox_due_idx",
                                condition=models.Q(sent_at__isnull=True)),
                   models.Index(fields=["sent_at"], name="outbox_sent_idx")]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
