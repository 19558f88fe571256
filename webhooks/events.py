"""Event types of the webhooks app (declared once; see core.events)."""

from django.db import models

from core.events import declare_events, declare_object, render_as

from .models import WebhookEndpoint


@declare_events(scope="webhooks:read", permission="webhooks.view_webhookendpoint")
class WebhooksEvent(models.TextChoices):
    ENDPOINT_TEST = "webhook_endpoint.test", "A test event, sent only to the endpoint that asked for it"


declare_object(WebhookEndpoint, render_as("get_webhook_endpoint"))
