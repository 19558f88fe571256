"""Event types of monitoring (declared once; see core.events): webhook endpoints receive alerts."""

from django.db import models

from core.events import declare_events, declare_object, render_as

from .models import Alert


@declare_events(scope="monitoring:read", permission="monitoring.view_alert")
class AlertsEvent(models.TextChoices):
    ALERT_CREATED = "alert.created", "An alert was raised (a duplicate of an active alert is not a new one)"
    ALERT_RESOLVED = "alert.resolved", "An alert was resolved, by hand or as its condition recovered"


declare_object(Alert, render_as("get_alert"))
