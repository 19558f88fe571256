"""The rule kinds and the minute job that evaluates every enabled rule.

Each kind has its parameters' defaults and checks (`validate_params`, used by `alert_rule_save`) and an
evaluator `(rule, now) -> list[Finding]` of the conditions firing now. `evaluate_all(now)` raises (or
folds) one alert per finding, dedup key `rule:<rule id>:<subject>`, and resolves, with a note, the rule's
active alerts whose condition no longer fires. A rule whose evaluation fails keeps its alerts as they are
and records why in `last_error`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, Q, Sum

from core import clock
from core.context import Actor
from core.errors import ValidationFailed

from .. import latency
from ..errors_alerts import AlertAlreadyResolved
from ..models.alerts import Alert, AlertRule
from ..selectors import route_window
from . import Finding, registered_sources
from .notify import deliver
from .rank import rank
from .services import ACTIVE, alert_raise, alert_resolve

logger = logging.getLogger("monitoring.alerts")
TASK_ACTOR = "monitoring.evaluate_alert_rules"

# kind -> {param: (default, type, minimum, maximum)}
PARAMS: dict[str, dict[str, tuple[Any, type, float | None, float | None]]] = {
    "error_rate": {"threshold": (0.05, float, 0.0001, 1.0), "min_requests": (20, int, 1, None)},
    "latency_p95": {"threshold_ms": (1000.0, float, 1.0, 120_000.0), "min_requests": (20, int, 1, None)},
    "payment_success_drop": {"days": (7, int, 2, 60), "z_threshold": (3.0, float, 0.5, 20.0),
                             "min_payments": (20, int, 1, None), "min_baseline_days": (3, int, 2, 60),
                             "min_std": (0.02, float, 0.0001, 1.0)},
    "provider_decline_jump": {"jump": (0.2, float, 0.01, 1.0), "min_attempts": (20, int, 1, None),
                              "baseline_hours": (24, int, 1, 24 * 30)},
    "outbox_backlog": {"max_pending": (500, int, 1, None), "max_age_seconds": (600, int, 1, None),
                       "max_queued": (1000, int, 1, None)},
    "audit_chain": {},
    "disk_space": {"path": ("/", str, None, None), "min_free_percent": (10.0, float, 0.0, 100.0)},
    "source": {"source": ("", str, None, None)},
}


def validate_params(kind: str, params: Any) -> dict[str, Any]:
    """The params with defaults filled in, or ValidationFailed naming each bad one."""
    spec = PARAMS[kind]
    if not isinstance(params, dict):
        raise ValidationFailed({"params": ["A JSON object."]})
    unknown = sorted(set(params) - set(spec))
    errors: list[str] = [f"Unknown parameter {name!r} for {kind} (known: {', '.join(spec) or 'none'})."
                         for name in unknown]
    clean: dict[str, Any] = {}
    for name, (default, kind_type, low, high) in spec.items():
        value = params.get(name, default)
        if kind_type is str:
            if not isinstance(value, str):
                errors.append(f"{name}: a string.")
                continue
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or (kind_type is int and
                                                                                  not isinstance(value, int)):
                errors.append(f"{name}: {'an integer' if kind_type is int else 'a number'}.")
                continue
            if (low is not None and value < low) or (high is not None and value > high):
                errors.append(f"{name}: between {low} and {high if high is not None else 'any'}.")
                continue
            value = kind_type(value)
        clean[name] = value
    if kind == "source" and not errors and clean["source"] not in registered_sources():
        errors.append(f"source: one of {', '.join(sorted(registered_sources())) or 'no registered source'}.")
    if errors:
        raise ValidationFailed({"params": errors})
    return clean


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _route_matches(pattern: str, name: str) -> bool:
    return not pattern or pattern == name or fnmatch.fnmatchcase(name, pattern)


def _period(rule: AlertRule, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    # Whole minutes before the current one (the current minute's metrics are still in the processes).
    until = _minute(now)
    return until - dt.timedelta(minutes=rule.window_minutes), until


def _error_rate(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    since, until = _period(rule, now)
    found = []
    for w in route_window(since=since, until=until, kind="rest"):
        if not _route_matches(rule.route, w.name) or w.count < p["min_requests"] or w.error_rate <= p["threshold"]:
            continue
        found.append(Finding(
            subject=w.name, title=f"Error rate {_pct(w.error_rate)} on {w.name}",
            reason=(f"{w.summary.errors} of {w.count} requests to {w.name} failed with a server error in the "
                    f"{rule.window_minutes} min to {clock.isoformat(until)}: {_pct(w.error_rate)}, above the "
                    f"{_pct(p['threshold'])} threshold."),
            abnormality=w.error_rate / p["threshold"],
            measure=f"error rate {_pct(w.error_rate)} is {w.error_rate / p['threshold']:.1f}x the "
                    f"{_pct(p['threshold'])} threshold",
            volume=w.summary.errors, volume_label="failed requests",
            details={"route": w.name, "requests": w.count, "errors": w.summary.errors,
                     "error_rate": round(w.error_rate, 4), "threshold": p["threshold"],
                     "since": clock.isoformat(since), "until": clock.isoformat(until)}))
    return found


def _slower_than(histogram: list[int], threshold_ms: float) -> int:
    # Requests in buckets entirely above the threshold (a lower bound: the bucket holding it is left out).
    return sum(count for index, count in enumerate(histogram)
               if index and latency.BUCKET_BOUNDS_MS[index - 1] >= threshold_ms)


def _latency_p95(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    since, until = _period(rule, now)
    found = []
    for w in route_window(since=since, until=until, kind="rest"):
        p95 = w.p95_ms
        if not _route_matches(rule.route, w.name) or w.count < p["min_requests"] or p95 is None \
                or p95 <= p["threshold_ms"]:
            continue
        slow = _slower_than(w.summary.histogram, p["threshold_ms"])
        found.append(Finding(
            subject=w.name, title=f"p95 latency {p95:.0f} ms on {w.name}",
            reason=(f"p95 latency of {w.name} was {p95:.1f} ms over {w.count} requests in the "
                    f"{rule.window_minutes} min to {clock.isoformat(until)}, above the {p['threshold_ms']:.0f} ms "
                    f"threshold ({slow} requests slower than it)."),
            abnormality=p95 / p["threshold_ms"],
            measure=f"p95 {p95:.1f} ms is {p95 / p['threshold_ms']:.1f}x the {p['threshold_ms']:.0f} ms threshold",
            volume=slow, volume_label="requests slower than the threshold",
            details={"route": w.name, "requests": w.count, "p95_ms": p95, "p99_ms": w.p99_ms,
                     "threshold_ms": p["threshold_ms"], "slower": slow,
                     "since": clock.isoformat(since), "until": clock.isoformat(until)}))
    return found


SUCCEEDED = ("succeeded", "requires_capture")
FAILED = ("failed",)


def _success_counts(since: dt.datetime, until: dt.datetime) -> tuple[int, int]:
    from payments.models import Payment

    row = Payment.objects.filter(created__gte=since, created__lt=until).aggregate(
        ok=Count("pk", filter=Q(status__in=SUCCEEDED)), failed=Count("pk", filter=Q(status__in=FAILED)))
    return int(row["ok"]), int(row["failed"])


def _payment_success_drop(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    from payments.models import Payment

    until = _minute(now)
    since = until - dt.timedelta(minutes=rule.window_minutes)
    ok, failed = _success_counts(since, until)
    if ok + failed < p["min_payments"]:
        return []
    rate = ok / (ok + failed)
    baseline: list[float] = []
    for day in range(1, p["days"] + 1):
        shift = dt.timedelta(days=day)
        day_ok, day_failed = _success_counts(since - shift, until - shift)
        if day_ok + day_failed >= p["min_payments"]:
            baseline.append(day_ok / (day_ok + day_failed))
    if len(baseline) < p["min_baseline_days"]:
        return []
    mean = statistics.fmean(baseline)
    std = max(statistics.stdev(baseline), p["min_std"])
    z = (rate - mean) / std
    if z > -p["z_threshold"]:
        return []
    lost = Payment.objects.filter(created__gte=since, created__lt=until, status__in=FAILED)
    amounts = {row["currency"]: int(row["total"]) for row in
               lost.values("currency").annotate(total=Sum("amount")).order_by("currency")}
    return [Finding(
        subject="all", title=f"Payment success rate dropped to {_pct(rate)} (z = {z:.1f})",
        reason=(f"{ok} of {ok + failed} payments succeeded in the {rule.window_minutes} min to "
                f"{clock.isoformat(until)}: {_pct(rate)} against {_pct(mean)} (std {_pct(std)}) at the same hour "
                f"over the previous {len(baseline)} days, z = {z:.2f} (threshold -{p['z_threshold']})."),
        abnormality=abs(z) / p["z_threshold"], measure=f"z = {z:.2f}, {abs(z) / p['z_threshold']:.1f}x the "
                                                       f"-{p['z_threshold']} threshold",
        volume=failed, volume_label="failed payments", amounts=amounts,
        details={"succeeded": ok, "failed": failed, "success_rate": round(rate, 4),
                 "baseline_rates": [round(r, 4) for r in baseline], "baseline_mean": round(mean, 4),
                 "baseline_std": round(std, 4), "z": round(z, 3), "since": clock.isoformat(since),
                 "until": clock.isoformat(until)})]


def _provider_decline_jump(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    from payments.models import PaymentAttempt, ProviderStat

    start = _hour(now - dt.timedelta(minutes=rule.window_minutes))
    base_start = start - dt.timedelta(hours=p["baseline_hours"])

    def per_provider(rows: Any) -> dict[str, tuple[int, int]]:
        return {r["provider"]: (int(r["a"]), int(r["s"])) for r in
                rows.values("provider").annotate(a=Sum("attempts"), s=Sum("successes")).order_by("provider")}

    current = per_provider(ProviderStat.objects.filter(bucket__gte=start, bucket__lte=now))
    base = per_provider(ProviderStat.objects.filter(bucket__gte=base_start, bucket__lt=start))
    found = []
    for provider, (attempts, successes) in current.items():
        b_attempts, b_successes = base.get(provider, (0, 0))
        if attempts < p["min_attempts"] or b_attempts < p["min_attempts"]:
            continue
        rate, b_rate = 1 - successes / attempts, 1 - b_successes / b_attempts
        if rate - b_rate < p["jump"]:
            continue
        declined = PaymentAttempt.objects.filter(provider=provider, created__gte=start, created__lte=now,
                                                 status="declined")
        amounts = {r["payment__currency"]: int(r["total"]) for r in declined.values("payment__currency")
                   .annotate(total=Sum("payment__amount")).order_by("payment__currency")}
        found.append(Finding(
            subject=provider, title=f"{provider} declines {_pct(rate)} (baseline {_pct(b_rate)})",
            reason=(f"{attempts - successes} of {attempts} attempts at {provider} since {clock.isoformat(start)} "
                    f"did not succeed: {_pct(rate)} against {_pct(b_rate)} ({b_attempts - b_successes} of "
                    f"{b_attempts}) over the {p['baseline_hours']} h before, a jump of "
                    f"{(rate - b_rate) * 100:.1f} points (threshold {p['jump'] * 100:.1f})."),
            abnormality=(rate - b_rate) / p["jump"],
            measure=f"+{(rate - b_rate) * 100:.1f} points is {(rate - b_rate) / p['jump']:.1f}x the "
                    f"{p['jump'] * 100:.1f}-point threshold",
            volume=attempts - successes, volume_label="unsuccessful attempts", amounts=amounts,
            details={"provider": provider, "attempts": attempts, "successes": successes,
                     "decline_rate": round(rate, 4), "baseline_attempts": b_attempts,
                     "baseline_decline_rate": round(b_rate, 4), "since": clock.isoformat(start)}))
    return found


def _outbox_backlog(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    from core.models import OutboxMessage

    due = OutboxMessage.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
    row = due.aggregate(n=Count("pk"), oldest=Min("next_attempt_at"), tries=Max("attempts"))
    pending, oldest = int(row["n"]), row["oldest"]
    age = (now - oldest).total_seconds() if oldest else 0.0
    if pending <= p["max_pending"] and age <= p["max_age_seconds"]:
        return _celery_queue(p)
    top = {r["task"]: r["n"] for r in due.values("task").annotate(n=Count("pk")).order_by("-n", "task")[:5]}
    ratio = max(pending / p["max_pending"], age / p["max_age_seconds"])
    return [Finding(
        subject="outbox", title=f"Outbox backlog: {pending} tasks waiting, oldest {clock.duration_text(age)}",
        reason=(f"{pending} outbox tasks are due and not sent (limit {p['max_pending']}); the oldest has waited "
                f"{clock.duration_text(age)} (limit {clock.duration_text(p['max_age_seconds'])}). "
                "Is the relay or the broker down?"),
        abnormality=ratio, measure=f"{ratio:.1f}x the backlog limit", volume=pending, volume_label="tasks waiting",
        details={"pending": pending, "oldest_age_seconds": round(age, 1), "max_attempts": row["tries"] or 0,
                 "by_task": top})] + _celery_queue(p)




def _celery_queue(p: dict[str, Any]) -> list[Finding]:
    """Tasks waiting in the broker's default queue (the health check's reading of Redis or the embedded
    folder); a broker that cannot be read is the health check's `broker` component, not a backlog."""
    from ..health import DOWN, check_broker

    try:
        result = check_broker()
    except Exception as exc:  # noqa: BLE001 - logged; the broker component of the health check says it is down
        logger.warning("celery backlog not read: %s: %s", type(exc).__name__, exc)
        return []
    queued = result.details.get("queued")
    if result.state == DOWN or not isinstance(queued, int) or queued <= p["max_queued"]:
        return []
    ratio = queued / p["max_queued"]
    transport = result.details.get("transport", "?")
    return [Finding(
        subject="celery_queue", title=f"Celery backlog: {queued} tasks waiting in the broker",
        reason=(f"{queued} tasks wait in the {transport} broker's default queue (limit {p['max_queued']}): the "
                "workers are not keeping up, or none is running."),
        abnormality=ratio, measure=f"{ratio:.1f}x the queue limit", volume=queued, volume_label="tasks queued",
        details={"queued": queued, "transport": transport})]


def _audit_chain(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    from compliance.models import AuditChainCheck

    last = AuditChainCheck.objects.order_by("-started_at").first()
    if last is None or last.intact:
        return []
    return [Finding(
        subject="audit_chain", title="Audit chain verification failed",
        reason=(f"The audit-chain check at {clock.isoformat(last.started_at)} found the chain broken "
                f"({last.reason or 'unknown'}) at event {last.first_broken_event_id or '?'} after checking "
                f"{last.count} sealed events."),
        measure="a failed integrity check", min_severity="critical", volume=last.count,
        volume_label="sealed events checked",
        details={"check_id": last.pk, "reason": last.reason, "first_broken_event_id": last.first_broken_event_id,
                 "count": last.count, "started_at": clock.isoformat(last.started_at)})]


def _disk_space(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    usage = shutil.disk_usage(p["path"])
    free_pct = usage.free / usage.total * 100 if usage.total else 0.0
    if free_pct >= p["min_free_percent"]:
        return []
    ratio = p["min_free_percent"] / max(free_pct, p["min_free_percent"] / 10)
    return [Finding(
        subject=p["path"], title=f"Disk {p['path']}: {free_pct:.1f}% free",
        reason=(f"{p['path']} has {usage.free / 1e9:.2f} GB free of {usage.total / 1e9:.2f} GB ({free_pct:.1f}%), "
                f"below the {p['min_free_percent']:.1f}% threshold."),
        abnormality=ratio, measure=f"{ratio:.1f}x below the free-space threshold", min_severity="medium",
        details={"path": p["path"], "free_bytes": usage.free, "total_bytes": usage.total,
                 "free_percent": round(free_pct, 2), "min_free_percent": p["min_free_percent"]})]


def _source(rule: AlertRule, p: dict[str, Any], now: dt.datetime) -> list[Finding]:
    evaluate = registered_sources().get(p["source"])
    if evaluate is None:
        raise LookupError(f"alert source {p['source']!r} is not registered")
    return [f if isinstance(f, Finding) else Finding(**f) for f in evaluate(now)]


EVALUATORS: dict[str, Callable[[AlertRule, dict[str, Any], dt.datetime], list[Finding]]] = {
    "error_rate": _error_rate, "latency_p95": _latency_p95, "payment_success_drop": _payment_success_drop,
    "provider_decline_jump": _provider_decline_jump, "outbox_backlog": _outbox_backlog,
    "audit_chain": _audit_chain, "disk_space": _disk_space, "source": _source,
}


def source_name(rule: AlertRule, params: dict[str, Any]) -> str:
    return str(params["source"]) if rule.kind == "source" else str(rule.kind)


def dedup_key(rule: AlertRule, subject: str) -> str:
    return f"rule:{rule.pk}:{subject}"


@dataclass
class Evaluation:
    rules: int = 0
    created: int = 0
    folded: int = 0
    resolved: int = 0
    failed: int = 0
    notified: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def evaluate_rule(rule: AlertRule, now: dt.datetime, result: Evaluation) -> None:
    actor = Actor.for_task(TASK_ACTOR)
    params = validate_params(rule.kind, rule.params)
    findings = EVALUATORS[rule.kind](rule, params, now)
    firing = set()
    for finding in findings:
        key = dedup_key(rule, finding.subject)
        firing.add(key)
        ranked = rank(finding, floor=rule.severity_floor, override=rule.severity_override)
        alert = alert_raise(actor=actor, source=source_name(rule, params), dedup_key=key, severity=ranked.severity,
                            title=finding.title, reason=finding.reason, details=finding.details,
                            rank_score=ranked.score, rank_reason=ranked.reason, impact=ranked.impact, rule=rule)
        if getattr(alert, "created_now", False):
            result.created += 1
            result.notified += deliver(alert.pk, "created")
        else:
            result.folded += 1
    recovered = Alert.objects.filter(rule=rule, status__in=ACTIVE).exclude(dedup_key__in=firing)
    for alert in recovered.order_by("created"):
        note = (f"Resolved automatically: the {rule.kind} condition of rule {rule.name!r} no longer holds at "
                f"{clock.isoformat(now)} (last seen {clock.isoformat(alert.last_seen)}, "
                f"{alert.occurrence_count} occurrence(s)).")
        try:
            alert_resolve(actor=actor, alert_id=alert.pk, note=note)
        except AlertAlreadyResolved:
            continue  # a person (or another evaluator) resolved it meanwhile
        result.resolved += 1
        result.notified += deliver(alert.pk, "resolved")


def evaluate_all(now: dt.datetime | None = None) -> dict[str, int]:
    """Evaluates every enabled rule once (the minute job; the demo). Returns the counts."""
    now = now or clock.now()
    result = Evaluation()
    for rule in AlertRule.objects.filter(enabled=True).order_by("pk"):
        result.rules += 1
        error = ""
        try:
            evaluate_rule(rule, now, result)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others; recorded on the rule
            logger.exception("alert rule evaluation failed", extra={"rule": rule.name})
            result.failed += 1
            error = f"{type(exc).__name__}: {exc}"[:500]
        AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=now, last_error=error)
    return result.as_dict()

