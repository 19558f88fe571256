"""Audit actions of alerts and alert rules (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class AlertsAction(models.TextChoices):
    ALERT_CREATED = "alert.created", "An alert was raised (by a rule, a source or by hand)"
    ALERT_FOLDED = "alert.folded", "A duplicate of an active alert was folded into it"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "An alert was acknowledged"
    ALERT_RESOLVED = "alert.resolved", "An alert was resolved (by hand, or as its condition recovered)"
    ALERT_RULE_CREATED = "alert_rule.created", "An alert rule was created"
    ALERT_RULE_UPDATED = "alert_rule.updated", "An alert rule was changed"
