"""Outbound webhook endpoints (`we_`), one delivery per endpoint and event (`whd_`) and its attempts
(`wha_`, the delivery log). Deliveries and attempts go with their event when it is purged."""

from django.db import models

from core.crypto import EncryptedTextField
from core.ids import PublicIdField
from core.models import ActorStamped, Event, Timestamped


class WebhookEndpoint(ActorStamped, Timestamped):
    id = PublicIdField(prefix="we")
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=500, blank=True)
    enabled_events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    # Stored encrypted (core.crypto); shown once, in the answer that made it.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The first failure since the last success; an endpoint failing for the whole retry window is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return f"{self.pk} {self.url}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events


class WebhookDelivery(Timestamped):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Reason(models.TextChoices):
        EVENT = "event"
        TEST = "test"
        REPLAY = "replay"
        REDELIVER = "redeliver"

    id = PublicIdField(prefix="whd")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.EVENT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The outbox message that may run the next attempt carries this token; any other copy (a broker
    # that delivered twice, a replaced retry) finds it changed and does nothing.
    token = models.CharField(max_length=40, blank=True)
    retry_message_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.pk} {self.status}"


class WebhookAttempt(models.Model):
    """One try of a delivery: the delivery log."""

    id = PublicIdField(prefix="wha")
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    created = models.DateTimeField(db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)
    next_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["endpoint", "created"], name="webhook_attempt_endpoint_idx")]

    def __str__(self):
        return f"{self.delivery_id} #{self.number}"
