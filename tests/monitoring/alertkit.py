"""Shared helpers of the alert tests: rules saved through the service, metric rows, payments."""

import datetime as dt

from core.context import Actor
from monitoring import latency
from monitoring.alerts.services import alert_rule_save
from monitoring.models import AlertRule, RequestMetricMinute

T = dt.datetime(2026, 3, 10, 12, 0, 30, tzinfo=dt.UTC)
STAFF = Actor.system("test")


def rule(kind, *, name=None, params=None, route="", window=5, recipients=("ops@example.com",), floor="low",
         override=""):
    return alert_rule_save(actor=STAFF, rule=AlertRule(
        name=name or kind, kind=kind, params=params or {}, route=route, window_minutes=window,
        recipients=list(recipients), severity_floor=floor, severity_override=override))


def metric(name, minute, durations, *, errors=0, process="web-1:1", kind="rest"):
    return RequestMetricMinute.objects.create(
        minute=minute, kind=kind, name=name, process=process, count=len(durations), errors=errors, client_errors=0,
        total_ms=float(sum(durations)), max_ms=float(max(durations)), histogram=latency.histogram_of(durations))


def at(minutes=0, *, hours=0, days=0):
    return T + dt.timedelta(minutes=minutes, hours=hours, days=days)


def minute(moment):
    return moment.replace(second=0, microsecond=0)
