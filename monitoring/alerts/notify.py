"""E-mail of a created or resolved alert to its rule's recipients (ALERTS_DEFAULT_RECIPIENTS for an alert
raised by hand or by a rule without recipients).

Recorded in the alert's transaction as an outbox message (`monitoring.send_alert_notification`) and sent by
whichever comes first: the evaluator right after its commit, or the task. The alert row's lock and its
`<kind>_notified_at` stamp make each notification go out once; a folded duplicate enqueues none.
"""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from core import clock
from core.db import run_in_transaction

from ..models.alerts import Alert
from .services import default_recipients

logger = logging.getLogger("monitoring.alerts")
KINDS = ("created", "resolved")


def recipients_of(alert: Alert) -> list[str]:
    return list(alert.rule.recipients) if alert.rule and alert.rule.recipients else default_recipients()


def _message(alert: Alert, kind: str) -> tuple[str, str]:
    if kind == "created":
        subject = f"[{alert.severity.upper()}] {alert.title}"
        body = (f"Alert {alert.pk} ({alert.source}) opened at {clock.isoformat(alert.first_seen)}.\n\n"
                f"Why it fired: {alert.reason}\n\nWhy {alert.severity}: {alert.rank_reason}\n")
    else:
        last = alert.notes.order_by("-created", "-pk").first()
        subject = f"[RESOLVED] {alert.title}"
        body = (f"Alert {alert.pk} ({alert.source}) was resolved at {clock.isoformat(alert.resolved_at)} by "
                f"{alert.resolved_by} after {alert.occurrence_count} occurrence(s).\n\n"
                f"Note: {last.text if last else ''}\n")
    return subject, body


def send_notification(alert_id: str, kind: str) -> int:
    """Sends the alert's `kind` e-mail unless it went out: 1 when this call sent it."""
    if kind not in KINDS:
        raise ValueError(kind)
    field = f"{kind}_notified_at"

    def send() -> int:
        alert = (Alert.objects.select_for_update(of=("self",)).select_related("rule")
                 .filter(pk=alert_id, **{f"{field}__isnull": True}).first())
        if alert is None:
            return 0
        recipients = recipients_of(alert)
        if recipients:
            subject, body = _message(alert, kind)
            send_mail(subject, body, None, recipients)
        Alert.objects.filter(pk=alert.pk).update(**{field: clock.now()})
        return 1 if recipients else 0

    return run_in_transaction(send)


def deliver(alert_id: str, kind: str) -> int:
    """The fast path after the deciding commit: a send that fails stays for the outbox task to retry."""
    try:
        return send_notification(alert_id, kind)
    except OSError:
        logger.exception("alert notification not sent; its task retries", extra={"alert": alert_id})
        return 0
