"""Errors of alerts (stable codes)."""

from core.errors import InvalidStateTransition, NotFound


class AlertNotFound(NotFound):
    code = "not_found"
    default_message = "No such alert."


class AlertAlreadyResolved(InvalidStateTransition):
    code = "alert_already_resolved"
    default_message = "The alert is already resolved."


class AlertAlreadyAcknowledged(InvalidStateTransition):
    code = "alert_already_acknowledged"
    default_message = "The alert is already acknowledged."
