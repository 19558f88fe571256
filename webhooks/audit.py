"""Audit actions of webhook endpoints (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class WebhooksAction(models.TextChoices):
    ENDPOINT_CREATED = "webhook_endpoint.created", "A webhook endpoint was created"
    ENDPOINT_UPDATED = "webhook_endpoint.updated", "A webhook endpoint's URL, events, description or state changed"
    ENDPOINT_DELETED = "webhook_endpoint.deleted", "A webhook endpoint was deleted"
    ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated", "A webhook endpoint's signing secret was rotated"
    ENDPOINT_DISABLED = "webhook_endpoint.disabled", "A webhook endpoint failing for 3 days was disabled"
    EVENTS_REPLAYED = "webhook_endpoint.events_replayed", "Events were sent again to a webhook endpoint"
    TEST_SENT = "webhook_endpoint.test_sent", "A test event was sent to a webhook endpoint"
    EVENT_REDELIVERED = "webhook_endpoint.event_redelivered", "One event was sent again to a webhook endpoint"
