"""Celery tasks of alerts: thin adapters (beat row from migration 0003_alerts_beat)."""

from celery import shared_task

from .alerts.notify import send_notification
from .alerts.rules import evaluate_all


@shared_task(name="monitoring.evaluate_alert_rules")
def evaluate_alert_rules() -> dict:
    """Every minute: every enabled rule once (raise, fold, resolve what recovered)."""
    return evaluate_all()


@shared_task(name="monitoring.send_alert_notification")
def send_alert_notification(alert_id: str, kind: str) -> int:
    return send_notification(alert_id, kind)
