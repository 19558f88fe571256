"""Writes of alerts: raise (folding duplicates), acknowledge, resolve, and saving a rule.

`alert_raise` is safe under concurrency: the partial unique constraint (one alert per dedup key while it
is not resolved) decides, `INSERT ... ON CONFLICT DO NOTHING` never fails on it (on PostgreSQL a second
evaluator's insert waits for the first one's commit, then inserts nothing), and the row is then read
`FOR UPDATE`: the creator finds its own row, everyone else folds into it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, use_case
from core.errors import ValidationFailed
from core.events import emit, snapshot
from core.ids import get_by_public_id, random_chars
from core.models import stamp
from core.outbox import enqueue

from ..audit_alerts import AlertsAction
from ..errors_alerts import AlertAlreadyAcknowledged, AlertAlreadyResolved, AlertNotFound
from ..models.alerts import SEVERITY_ORDER, Alert, AlertNote, AlertRule
from .rank import higher

ACTIVE = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)
NOTIFY_TASK = "monitoring.send_alert_notification"


def _note(alert: Alert, text: str, actor: Actor) -> None:
    if text:
        note = AlertNote(alert=alert, text=text, created=clock.now())
        stamp(note, actor=actor)
        note.save(force_insert=True)


def alert_lock(alert_id: str) -> Alert:
    require_transaction()
    return get_by_public_id(Alert.objects.select_for_update(), alert_id, field="alert_id", error=AlertNotFound)


@use_case
def alert_raise(*, actor: Actor, source: str, dedup_key: str, severity: str, title: str, reason: str,
                details: dict[str, Any] | None = None, rank_score: int | None = None, rank_reason: str = "",
                impact: dict[str, Any] | None = None, rule: AlertRule | None = None) -> Alert:
    """Opens an alert, or folds this occurrence into the open/acknowledged alert with the same dedup key
    (occurrence_count + 1, last_seen, the latest reason and numbers, the higher severity): only a new alert
    is notified (`alert.created` event, e-mail). `alert.created_now` says which it was."""
    if severity not in SEVERITY_ORDER:
        raise ValidationFailed({"severity": [f"One of {', '.join(SEVERITY_ORDER)}."]})
    now = clock.now()
    if rank_score is None:
        rank_score = {"low": 10, "medium": 35, "high": 60, "critical": 85}[severity]
        rank_reason = rank_reason or f"{severity}: set by {actor.label} when raised."
    candidate = Alert(severity=severity, source=source, rule=rule, title=title[:200], dedup_key=dedup_key[:255],
                      reason=reason, details=details or {}, rank_score=rank_score, rank_reason=rank_reason,
                      impact=impact or {}, first_seen=now, last_seen=now)
    stamp(candidate, actor=actor)
    Alert.objects.bulk_create([candidate], ignore_conflicts=True)
    alert = Alert.objects.select_for_update().get(dedup_key=candidate.dedup_key, status__in=ACTIVE)
    if alert.pk == candidate.pk:
        audit_record(action=AlertsAction.ALERT_CREATED, actor=actor, obj=alert,
                     details={"severity": severity, "source": source, "dedup_key": alert.dedup_key})
        emit("alert.created", alert, actor=actor)
        enqueue(NOTIFY_TASK, alert.pk, "created")
        alert.created_now = True  # type: ignore[attr-defined]  # the caller's answer: created, not folded
        return alert
    escalated = higher(severity, alert.severity) != alert.severity
    alert.occurrence_count += 1
    alert.last_seen = now
    alert.updated = now
    alert.title, alert.reason, alert.details = candidate.title, reason, details or {}
    alert.rank_score, alert.rank_reason, alert.impact = rank_score, rank_reason, impact or {}
    alert.severity = higher(severity, alert.severity)
    alert.save(update_fields=["occurrence_count", "last_seen", "updated", "title", "reason", "details",
                              "rank_score", "rank_reason", "impact", "severity"])
    # The minute job's routine fold is not audited (one row a minute per standing alert); a person's or an
    # escalation is.
    if actor.kind != "task" or escalated:
        audit_record(action=AlertsAction.ALERT_FOLDED, actor=actor, obj=alert,
                     details={"occurrence_count": alert.occurrence_count, "severity": alert.severity})
    alert.created_now = False  # type: ignore[attr-defined]  # the caller's answer: created, not folded
    return alert


@use_case
def alert_create(*, actor: Actor, title: str, severity: str, reason: str = "", source: str = "manual",
                 dedup_key: str = "", details: dict[str, Any] | None = None) -> Alert:
    """An alert raised by hand (REST, MCP): a dedup key of an active alert folds into it."""
    return alert_raise(actor=actor, source=source, dedup_key=dedup_key or f"manual:{random_chars(16)}",
                       severity=severity, title=title, reason=reason or title, details=details)


@use_case
def alert_acknowledge(*, actor: Actor, alert_id: str, note: str = "") -> Alert:
    alert = alert_lock(alert_id)
    if alert.status == Alert.Status.RESOLVED:
        raise AlertAlreadyResolved(details={"alert_id": alert.pk})
    if alert.status == Alert.Status.ACKNOWLEDGED:
        raise AlertAlreadyAcknowledged(details={"alert_id": alert.pk})
    now = clock.now()
    alert.status, alert.acknowledged_by, alert.acknowledged_at, alert.updated = (
        Alert.Status.ACKNOWLEDGED, actor.label[:200], now, now)
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "updated"])
    _note(alert, note, actor)
    audit_record(action=AlertsAction.ALERT_ACKNOWLEDGED, actor=actor, obj=alert, details={"note": note})
    return alert


@use_case
def alert_resolve(*, actor: Actor, alert_id: str, note: str) -> Alert:
    """Resolves an open or acknowledged alert with a note (`alert.resolved` event, e-mail). The next
    occurrence of its condition opens a new alert."""
    alert = alert_lock(alert_id)
    if alert.status == Alert.Status.RESOLVED:
        raise AlertAlreadyResolved(details={"alert_id": alert.pk})
    previous = snapshot(alert)
    now = clock.now()
    alert.status, alert.resolved_by, alert.resolved_at, alert.updated = (
        Alert.Status.RESOLVED, actor.label[:200], now, now)
    alert.save(update_fields=["status", "resolved_by", "resolved_at", "updated"])
    _note(alert, note, actor)
    audit_record(action=AlertsAction.ALERT_RESOLVED, actor=actor, obj=alert, details={"note": note})
    emit("alert.resolved", alert, previous=previous, actor=actor)
    enqueue(NOTIFY_TASK, alert.pk, "resolved")
    return alert


def alert_rule_validate(rule: AlertRule) -> None:
    """Refuses (validation_error, per field) a rule `alert_rule_save` would refuse; normalises its params."""
    from .rules import validate_params

    errors: dict[str, list[str]] = {}
    if rule.kind not in AlertRule.Kind.values:
        errors["kind"] = [f"One of {', '.join(AlertRule.Kind.values)}."]
    else:
        try:
            rule.params = validate_params(rule.kind, rule.params)
        except ValidationFailed as exc:
            errors.update(exc.details["fields"])
    if not 1 <= int(rule.window_minutes or 0) <= 1440:
        errors["window_minutes"] = ["Between 1 and 1440 minutes."]
    recipients = rule.recipients if isinstance(rule.recipients, list) else None
    if recipients is None or len(recipients) > 50:
        errors["recipients"] = ["A list of at most 50 e-mail addresses."]
    else:
        bad = []
        for address in recipients:
            try:
                validate_email(address)
            except (ValidationError, TypeError):
                bad.append(str(address))
        if bad:
            errors["recipients"] = [f"Not e-mail addresses: {', '.join(bad)}."]
    for name in ("severity_floor", "severity_override"):
        value = getattr(rule, name)
        if value and value not in SEVERITY_ORDER:
            errors[name] = [f"One of {', '.join(SEVERITY_ORDER)}."]
    if errors:
        raise ValidationFailed(errors)


@use_case
def alert_rule_save(*, actor: Actor, rule: AlertRule) -> AlertRule:
    """Creates or changes a rule (the admin's form): params validated for its kind, recipients e-mails."""
    alert_rule_validate(rule)
    created = rule._state.adding
    stamp(rule, actor=actor)
    rule.save()
    audit_record(action=AlertsAction.ALERT_RULE_CREATED if created else AlertsAction.ALERT_RULE_UPDATED,
                 actor=actor, obj=rule, details={"kind": rule.kind, "enabled": rule.enabled, "params": rule.params,
                                                 "route": rule.route, "window_minutes": rule.window_minutes,
                                                 "recipients": len(rule.recipients)})
    return rule


def default_recipients() -> list[str]:
    return list(getattr(settings, "ALERTS_DEFAULT_RECIPIENTS", []))
