"""Health: a registry of components, each checked, timed and bounded, and a score 0-100 with its formula.

`register_component(name, check, weight=)` adds a component (upper layers do it from their AppConfig.ready());
`run_checks()` runs them all and returns a `HealthReport`: each component's state (`ok`, `degraded`, `down`),
message, details and time, the score and the formula that computed it, with the numbers.

Bounds, so a hung service cannot hang the caller:
- a check that raises is its component `down` with the error's message (logged, with its traceback);
- network checks (Redis, the broker) run in worker threads with connect and read timeouts of
  HEALTH_CHECK_TIMEOUT_SECONDS and no retries; one that has not answered shortly after is `down` and left behind;
- database checks run in the calling thread (they must see its transaction), each under a savepoint with
  PostgreSQL's `statement_timeout` at the same bound, so a failed statement spoils nothing after it.

The score: each component has a weight; ok counts 100 %, degraded 50 %, down 0 %;
score = round(100 × Σ weight × factor / Σ weight), halves rounded up.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Count, Max, Min

from core import clock
from core.context import Actor
from core.db import use_case

from .models import HealthCheck, LedgerVerification, WorkerHeartbeat

logger = logging.getLogger("monitoring.health")

OK, DEGRADED, DOWN = "ok", "degraded", "down"
STATES = (OK, DEGRADED, DOWN)
# The factor of each state, in halves (exact integer arithmetic): ok 100 %, degraded 50 %, down 0 %.
HALVES = {OK: 2, DEGRADED: 1, DOWN: 0}
FACTOR_TEXT = {OK: "1", DEGRADED: "0.5", DOWN: "0"}
# A thread is given this much beyond the timeout of its own sockets before it is left behind.
THREAD_GRACE_SECONDS = 0.5
# payments.risk.model.NAME (not imported here: it loads XGBoost).
FRAUD_MODEL = "fraud"
MODEL_SCORER = "payments.risk.scorer.model_scorer"


@dataclass(frozen=True)
class ComponentResult:
    """What a check returns; `duration_ms` is measured by the runner."""

    state: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Component:
    """One component in a report: its check's result, its name and weight."""

    name: str
    weight: int
    state: str
    message: str
    details: dict[str, Any]
    duration_ms: float


@dataclass(frozen=True)
class HealthReport:
    components: list[Component]
    score: int
    formula: str
    checked_at: dt.datetime
    duration_ms: float = 0.0

    @property
    def state(self) -> str:
        """ok when every component is, down when the database is, degraded otherwise."""
        states = {c.name: c.state for c in self.components}
        if states.get("database") == DOWN:
            return DOWN
        return OK if all(s == OK for s in states.values()) else DEGRADED

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)


@dataclass(frozen=True)
class _Registered:
    name: str
    check: Callable[[], ComponentResult]
    weight: int
    threaded: bool


_components: dict[str, _Registered] = {}


def register_component(name: str, check: Callable[[], ComponentResult], *, weight: int,
                       threaded: bool = False) -> None:
    """Adds a component to every report, in registration order. `threaded=True` for a check that uses no
    database (a network service): it runs in a thread, with the others, and is left behind if it hangs."""
    if weight < 0:
        raise ValueError(f"Health component {name}: weight must be >= 0.")
    existing = _components.get(name)
    if existing is not None and existing.check is not check:
        raise ValueError(f"Health component {name} registered twice.")
    _components[name] = _Registered(name=name, check=check, weight=weight, threaded=threaded)


def registered_components() -> dict[str, int]:
    """{name: weight} of every registered component, in order."""
    return {c.name: c.weight for c in _components.values()}


# --- running -----------------------------------------------------------------------------------------
def run_checks(names: Iterable[str] | None = None) -> HealthReport:
    """Runs every registered component's check (or those named), bounded as the module says."""
    started = time.perf_counter()
    checked_at = clock.now()
    wanted = set(names) if names is not None else None
    chosen = [c for c in _components.values() if wanted is None or c.name in wanted]
    timeout = float(settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    results: dict[str, ComponentResult] = {}
    threaded = [c for c in chosen if c.threaded]
    pool = (concurrent.futures.ThreadPoolExecutor(max_workers=len(threaded), thread_name_prefix="health")
            if threaded else None)
    try:
        futures = {c.name: (pool.submit(_run_in_thread, c), time.perf_counter()) for c in threaded} if pool else {}
        for component in chosen:
            if not component.threaded:
                results[component.name] = _run_one(component, database_budget=timeout)
        for name, (future, submitted) in futures.items():
            remaining = max(0.0, submitted + timeout + THREAD_GRACE_SECONDS - time.perf_counter())
            try:
                results[name] = future.result(timeout=remaining)
            except concurrent.futures.TimeoutError:
                elapsed = round((time.perf_counter() - submitted) * 1000, 1)
                results[name] = ComponentResult(DOWN, f"no answer within {timeout:g} s", {"timeout_seconds": timeout},
                                                duration_ms=elapsed)
                logger.warning("health: component timed out", extra={"component": name, "timeout_seconds": timeout})
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    components = [Component(name=c.name, weight=c.weight, state=results[c.name].state,
                            message=results[c.name].message, details=results[c.name].details,
                            duration_ms=results[c.name].duration_ms) for c in chosen]
    score, formula = score_of([(c.name, c.weight, c.state) for c in components])
    return HealthReport(components=components, score=score, formula=formula, checked_at=checked_at,
                        duration_ms=round((time.perf_counter() - started) * 1000, 1))


def _run_in_thread(component: _Registered) -> ComponentResult:
    try:
        return _run_one(component)
    finally:
        connections.close_all()  # this thread's own, should a threaded check have opened one


def _run_one(component: _Registered, *, database_budget: float | None = None) -> ComponentResult:
    """The check's result, timed; an exception is the component down with its message (logged). With a
    database budget on PostgreSQL, the check runs under a savepoint (a transaction outside one) with
    `statement_timeout` at the budget: a statement that fails or hangs costs this check only. SQLite needs
    neither (a failed read spoils nothing, and a transaction there would take the write lock)."""
    started = time.perf_counter()
    try:
        if database_budget is not None and connection.vendor == "postgresql":
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {max(1, int(database_budget * 1000))}")
                result = component.check()
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
        else:
            result = component.check()
        if result.state not in STATES:
            raise ValueError(f"the check answered the unknown state {result.state!r}")
    except Exception as exc:  # noqa: BLE001  (a broken check is its component down, with the reason, logged)
        logger.warning("health: check failed", exc_info=True, extra={"component": component.name})
        result = ComponentResult(DOWN, f"check failed: {type(exc).__name__}: {str(exc)[:300]}",
                                 {"error": type(exc).__name__})
    else:
        if result.state != OK:
            logger.warning("health: component not ok", extra={"component": component.name, "state": result.state,
                                                               "health_message": result.message[:300]})
    return replace(result, duration_ms=round((time.perf_counter() - started) * 1000, 1))


def score_of(states: list[tuple[str, int, str]]) -> tuple[int, str]:
    """(score, formula) of (name, weight, state) triples: round(100 × Σ weight × factor / Σ weight)."""
    total = sum(weight for _, weight, _ in states)
    if not total:
        return 0, "score = 0: no weighted component"
    halves = sum(weight * HALVES[state] for _, weight, state in states)
    score = (100 * halves + total) // (2 * total)  # round half up, exactly
    points = f"{halves // 2}" + (".5" if halves % 2 else "")
    terms = " + ".join(f"{name} {weight}×{FACTOR_TEXT[state]}" for name, weight, state in states)
    return score, (f"score = round(100 × Σ(weight × factor) / Σ weight), factor ok 1, degraded 0.5, down 0"
                   f" = round(100 × ({terms}) / {total}) = round(100 × {points} / {total}) = {score}")


# --- components ---------------------------------------------------------------------------------------
def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _slow(round_trip_ms: float) -> bool:
    return round_trip_ms > float(settings.HEALTH_SLOW_MS)


def _safe_url(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _redis_client(url: str) -> Any:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = float(settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                retry=Retry(NoBackoff(), 0), health_check_interval=0)


def _answered(text: str, details: dict[str, Any], round_trip: float) -> ComponentResult:
    """A service that answered: ok, or degraded when slower than HEALTH_SLOW_MS."""
    if _slow(round_trip):
        return ComponentResult(DEGRADED, f"{text} (slower than {settings.HEALTH_SLOW_MS} ms)", details)
    return ComponentResult(OK, text, details)


def check_database() -> ComponentResult:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    round_trip = _ms(started)
    version = ".".join(str(part) for part in connection.get_database_version())
    details = {"vendor": connection.vendor, "version": version, "round_trip_ms": round_trip}
    text = f"{connection.vendor} {version} answered SELECT 1 in {round_trip:g} ms"
    return _answered(text, details, round_trip)


def check_cache() -> ComponentResult:
    url = settings.REDIS_URL
    if not url:
        from django.core.cache import cache

        token = f"{os.getpid()}:{time.perf_counter_ns()}"
        started = time.perf_counter()
        cache.set("monitoring:health:probe", token, 10)
        read = cache.get("monitoring:health:probe")
        details = {"backend": "in-process (LocMemCache)", "round_trip_ms": _ms(started)}
        if read != token:
            return ComponentResult(DOWN, "the in-process cache did not return what was just written", details)
        return ComponentResult(OK, "in-process cache (REDIS_URL is not set): each process has its own, so rate "
                                   "limits and cached settings are per process", details)
    client = _redis_client(url)
    try:
        started = time.perf_counter()
        client.ping()
        round_trip = _ms(started)
        info = client.info()
    finally:
        client.close()
    details = {"backend": "redis", "url": _safe_url(url), "round_trip_ms": round_trip,
               "redis_version": info.get("redis_version"), "used_memory": info.get("used_memory_human"),
               "connected_clients": info.get("connected_clients")}
    text = f"Redis {info.get('redis_version')} at {_safe_url(url)} answered PING in {round_trip:g} ms"
    return _answered(text, details, round_trip)


def check_broker() -> ComponentResult:
    url = settings.CELERY_BROKER_URL
    scheme = urlsplit(url).scheme
    backlog = int(settings.HEALTH_BROKER_QUEUE_DEGRADED)
    if scheme == "filesystem":
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        details: dict[str, Any] = {"transport": "filesystem", "folder": str(folder)}
        embedded = "the embedded filesystem broker (REDIS_URL is not set; no broker service)"
        if not folder.is_dir():
            return ComponentResult(DOWN, f"{embedded}: its folder {folder} does not exist, so no task reaches a "
                                         "worker (scripts/run.sh creates it)", details)
        if not os.access(folder, os.W_OK):
            return ComponentResult(DOWN, f"{embedded}: its folder {folder} is not writable", details)
        waiting = sum(1 for entry in os.scandir(folder) if entry.is_file())
        details["queued"] = waiting
        text = f"{embedded}: tasks are files in {folder}, {waiting} waiting"
        if waiting > backlog:
            return ComponentResult(DEGRADED, f"{text} (more than {backlog}: workers are not keeping up)", details)
        return ComponentResult(OK, text, details)
    if scheme in ("redis", "rediss"):
        prefix = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("global_keyprefix", "")
        client = _redis_client(url)
        try:
            started = time.perf_counter()
            client.ping()
            round_trip = _ms(started)
            queued = int(client.llen(f"{prefix}celery"))
        finally:
            client.close()
        details = {"transport": "redis", "url": _safe_url(url), "round_trip_ms": round_trip, "queued": queued}
        text = f"Redis broker at {_safe_url(url)} answered in {round_trip:g} ms; {queued} task(s) queued"
        if queued > backlog:
            return ComponentResult(DEGRADED, f"{text} (more than {backlog}: workers are not keeping up)", details)
        return _answered(text, details, round_trip)
    if scheme == "memory":
        return ComponentResult(DEGRADED, "the in-memory broker: tasks never leave this process",
                               {"transport": "memory"})
    from kombu import Connection

    timeout = float(settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    started = time.perf_counter()
    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=max(1, round(timeout)))
    round_trip = _ms(started)
    return ComponentResult(OK, f"{scheme} broker at {_safe_url(url)} connected in {round_trip:g} ms",
                           {"transport": scheme, "url": _safe_url(url), "round_trip_ms": round_trip})


def _age(now: dt.datetime, moment: dt.datetime) -> int:
    return max(0, int((now - moment).total_seconds()))


def check_worker() -> ComponentResult:
    now = clock.now()
    stale = int(settings.HEALTH_HEARTBEAT_STALE_SECONDS)
    rows = list(WorkerHeartbeat.objects.filter(last_seen__gte=now - dt.timedelta(days=1)).order_by("-last_seen")[:20])
    workers: list[dict[str, Any]] = [
        {"worker": r.worker, "last_seen": clock.isoformat(r.last_seen), "age_seconds": _age(now, r.last_seen)}
        for r in rows]
    details: dict[str, Any] = {"stale_after_seconds": stale, "workers": workers}
    if not rows:
        return ComponentResult(DOWN, "no worker heartbeat in the last 24 h: is a Celery worker running, and beat "
                                     "queueing monitoring.worker_heartbeat every minute?", details)
    fresh = [w for w in workers if w["age_seconds"] <= stale]
    if not fresh:
        return ComponentResult(DOWN, f"the last heartbeat ({workers[0]['worker']}) is {workers[0]['age_seconds']} s "
                                     f"old, stale after {stale} s: no worker is taking tasks", details)
    if len(fresh) < len(workers):
        gone = ", ".join(w["worker"] for w in workers if w["age_seconds"] > stale)
        return ComponentResult(DEGRADED, f"{len(fresh)} of {len(workers)} workers seen in 24 h are beating; "
                                         f"stopped: {gone}", details)
    return ComponentResult(OK, f"{len(fresh)} worker(s) beating; the last heartbeat {fresh[0]['age_seconds']} s ago",
                           details)


def _next_due(task: Any, now: dt.datetime) -> dt.datetime | None:
    """When the task should have run next after its last run (or after it was set up), None when its schedule
    has no fixed rhythm (clocked, solar, a one-off that ran, not started yet)."""
    if task.start_time and task.start_time > now:
        return None
    if task.one_off and task.total_run_count:
        return None
    start = task.last_run_at or task.date_changed
    if task.interval_id:
        interval = task.interval
        return start + dt.timedelta(**{interval.period: interval.every})
    if task.crontab_id:
        from celery.schedules import crontab

        cron = task.crontab
        zone = cron.timezone
        schedule = crontab(minute=cron.minute, hour=cron.hour, day_of_week=cron.day_of_week,
                           day_of_month=cron.day_of_month, month_of_year=cron.month_of_year,
                           nowfun=lambda: now.astimezone(zone))
        remaining = schedule.remaining_estimate(start.astimezone(zone))
        return now + remaining
    return None


def check_beat() -> ComponentResult:
    from django_celery_beat.models import PeriodicTask

    now = clock.now()
    grace = int(settings.HEALTH_BEAT_GRACE_SECONDS)
    tasks = list(PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab").order_by("name"))
    checked, overdue = 0, []
    for task in tasks:
        due = _next_due(task, now)
        if due is None:
            continue
        checked += 1
        late = int((now - due).total_seconds())
        if late > grace:
            overdue.append({"name": task.name, "task": task.task, "last_run_at": clock.isoformat(task.last_run_at),
                            "due_at": clock.isoformat(due), "late_seconds": late})
    last_run = max((t.last_run_at for t in tasks if t.last_run_at), default=None)
    details: dict[str, Any] = {"schedules": checked, "grace_seconds": grace, "last_run_at": clock.isoformat(last_run),
                               "overdue": overdue}
    if not overdue:
        return ComponentResult(OK, f"{checked} schedule(s) on time; the last run {_age(now, last_run)} s ago"
                               if last_run else f"{checked} schedule(s), none due yet", details)
    names = ", ".join(o["name"] for o in overdue[:5]) + (f" and {len(overdue) - 5} more" if len(overdue) > 5 else "")
    earliest_due = min(dt.datetime.fromisoformat(o["due_at"].replace("Z", "+00:00")) for o in overdue)
    if last_run is None or last_run < earliest_due:
        since = f"since {clock.isoformat(last_run)}" if last_run else "ever"
        return ComponentResult(DOWN, f"beat has run no schedule {since}: {len(overdue)} overdue ({names}); is "
                                     "celery beat running?", details)
    return ComponentResult(DEGRADED, f"{len(overdue)} schedule(s) overdue by more than {grace} s while beat runs "
                                     f"others: {names}", details)


def check_outbox() -> ComponentResult:
    from core.models import OutboxMessage

    now = clock.now()
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    due = pending.filter(next_attempt_at__lte=now).aggregate(n=Count("id"), oldest=Min("next_attempt_at"),
                                                             attempts=Max("attempts"))
    later = pending.filter(next_attempt_at__gt=now).count()
    age = _age(now, due["oldest"]) if due["oldest"] else 0
    details = {"due": due["n"], "scheduled_later": later, "oldest_due_at": clock.isoformat(due["oldest"]),
               "oldest_due_age_seconds": age, "max_attempts": due["attempts"] or 0}
    degraded_age, down_age = int(settings.HEALTH_OUTBOX_DEGRADED_SECONDS), int(settings.HEALTH_OUTBOX_DOWN_SECONDS)
    text = f"{due['n']} message(s) due, the oldest waiting {age} s; {later} scheduled later"
    if age > down_age:
        return ComponentResult(DOWN, f"{text} (over {down_age} s): is the relay (manage.py outbox_relay) running and "
                                     "the broker reachable?", details)
    if age > degraded_age or due["n"] > int(settings.HEALTH_OUTBOX_DEGRADED_DUE):
        return ComponentResult(DEGRADED, f"{text} (over {degraded_age} s or {settings.HEALTH_OUTBOX_DEGRADED_DUE} "
                                         "messages): the relay is behind", details)
    return ComponentResult(OK, text, details)


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def check_disk() -> ComponentResult:
    path = Path(settings.HEALTH_DISK_PATH)
    measured = path
    while not measured.exists() and measured != measured.parent:
        measured = measured.parent
    usage = shutil.disk_usage(measured)
    free = round(100 * usage.free / usage.total, 1) if usage.total else 0.0
    degraded, down = float(settings.HEALTH_DISK_DEGRADED_FREE_PERCENT), float(settings.HEALTH_DISK_DOWN_FREE_PERCENT)
    details = {"path": str(path), "measured_path": str(measured), "total_bytes": usage.total,
               "free_bytes": usage.free, "free_percent": free, "degraded_below_percent": degraded,
               "down_below_percent": down}
    text = f"{_gib(usage.free)} free of {_gib(usage.total)} ({free:g} %) at {measured}"
    if free < down:
        return ComponentResult(DOWN, f"{text}: below {down:g} %", details)
    if free < degraded:
        return ComponentResult(DEGRADED, f"{text}: below {degraded:g} %", details)
    return ComponentResult(OK, text, details)


def check_fraud_model() -> ComponentResult:
    from core.models import MLModel

    path = settings.PAYMENTS_RISK_SCORER
    if path != MODEL_SCORER:
        active = MLModel.objects.filter(name=FRAUD_MODEL, status=MLModel.Status.ACTIVE).values_list(
            "id", "version").first()
        details: dict[str, Any] = {"scorer": path or "rules", "registry_active_model": active[0] if active else None}
        return ComponentResult(OK, f"payments are scored by {path or 'the rule set'} (PAYMENTS_RISK_SCORER); no "
                                   "model is loaded", details)
    from payments.risk.scorer import active_model

    loaded = active_model()
    if loaded is None:
        return ComponentResult(DEGRADED, "no active fraud model: payments are scored by the rule set until one is "
                                         "promoted", {"scorer": path, "model_id": None})
    model = MLModel.objects.filter(pk=loaded["id"]).only("activated_at", "metrics").first()
    metrics = (model.metrics if model else None) or {}
    details = {"scorer": path, "model_id": loaded["id"], "version": loaded["version"],
               "features": len(loaded["features"]),
               "activated_at": clock.isoformat(model.activated_at if model else None),
               "auprc": metrics.get("auprc"), "roc_auc": metrics.get("roc_auc")}
    return ComponentResult(OK, f"fraud model {loaded['version']} ({loaded['id']}) loaded in this process, "
                               f"{len(loaded['features'])} features", details)


def _verification_age_text(now: dt.datetime, moment: dt.datetime) -> str:
    hours = (now - moment).total_seconds() / 3600
    return f"{hours:.1f} h ago"


def check_ledger_verification() -> ComponentResult:
    now = clock.now()
    max_age = int(settings.HEALTH_VERIFICATION_MAX_AGE_HOURS)
    last = LedgerVerification.objects.order_by("-started_at").first()
    if last is None:
        return ComponentResult(DEGRADED, "the ledger has not been verified yet (nightly wallets.verify_ledger, or "
                                         "manage.py verify_ledger)", {"max_age_hours": max_age})
    details = {"verification_id": last.pk, "started_at": clock.isoformat(last.started_at), "ok": last.ok,
               "problem_count": last.problem_count, "problems": last.problems[:5], "entries": last.entries,
               "postings": last.postings, "accounts": last.accounts, "source": last.source, "max_age_hours": max_age}
    when = _verification_age_text(now, last.started_at)
    if not last.ok:
        return ComponentResult(DOWN, f"the last ledger verification ({when}) found {last.problem_count} problem(s): "
                                     f"{last.problems[0] if last.problems else ''}", details)
    if now - last.started_at > dt.timedelta(hours=max_age):
        return ComponentResult(DEGRADED, f"the last ledger verification passed but is {when} (older than {max_age} h): "
                                         "is the nightly job running?", details)
    return ComponentResult(OK, f"the ledger verified {when}: {last.entries} entries, {last.accounts} accounts, "
                               "every invariant holds", details)


def check_audit_chain() -> ComponentResult:
    from compliance.models import AuditChainCheck

    now = clock.now()
    max_age = int(settings.HEALTH_VERIFICATION_MAX_AGE_HOURS)
    last = AuditChainCheck.objects.order_by("-started_at").first()
    if last is None:
        return ComponentResult(DEGRADED, "the audit chain has not been verified yet (the nightly job, or manage.py "
                                         "verify_audit_chain)", {"max_age_hours": max_age})
    details = {"check_id": last.pk, "started_at": clock.isoformat(last.started_at), "intact": last.intact,
               "count": last.count, "reason": last.reason, "first_broken_event_id": last.first_broken_event_id,
               "max_age_hours": max_age}
    when = _verification_age_text(now, last.started_at)
    if not last.intact:
        return ComponentResult(DOWN, f"the audit chain is broken ({last.reason}) at event "
                                     f"{last.first_broken_event_id}, found {when}", details)
    if now - last.started_at > dt.timedelta(hours=max_age):
        return ComponentResult(DEGRADED, f"the audit chain was intact {when}, older than {max_age} h: is the nightly "
                                         "job running?", details)
    return ComponentResult(OK, f"the audit chain was intact {when}: {last.count} sealed events", details)


def register_builtin_components() -> None:
    """The components of the apps below monitoring; weights sum to 100."""
    for name, check, weight, threaded in [
        ("database", check_database, 20, False),
        ("cache", check_cache, 10, True),
        ("broker", check_broker, 10, True),
        ("worker", check_worker, 10, False),
        ("beat", check_beat, 10, False),
        ("outbox", check_outbox, 10, False),
        ("disk", check_disk, 10, False),
        ("fraud_model", check_fraud_model, 5, False),
        ("ledger_verification", check_ledger_verification, 10, False),
        ("audit_chain", check_audit_chain, 5, False),
    ]:
        register_component(name, check, weight=weight, threaded=threaded)


# --- reports as answers, stored checks and the system status -----------------------------------------
def report_data(report: HealthReport, *, details: bool = True) -> dict[str, Any]:
    def one(c: Component) -> dict[str, Any]:
        data: dict[str, Any] = {"name": c.name, "state": c.state, "weight": c.weight, "message": c.message,
                                "duration_ms": c.duration_ms}
        if details:
            data["details"] = c.details
        return data

    return {"state": report.state, "score": report.score, "formula": report.formula, "checked_at": report.checked_at,
            "duration_ms": report.duration_ms, "components": [one(c) for c in report.components]}


def health_check_live(*, actor: Actor) -> dict[str, Any]:
    """Every check now, with details and timings; nothing is stored."""
    return report_data(run_checks())


def system_status(*, actor: Actor) -> dict[str, Any]:
    """The score, formula and each component's state: from the last recorded check when it is at most
    HEALTH_STATUS_MAX_AGE_SECONDS old (`source` "recorded"), otherwise from a check run now ("live")."""
    now = clock.now()
    max_age = int(settings.HEALTH_STATUS_MAX_AGE_SECONDS)
    last = HealthCheck.objects.filter(checked_at__lte=now).order_by("-checked_at").first()
    if last is not None and _age(now, last.checked_at) <= max_age:
        components = [{k: c[k] for k in ("name", "state", "weight", "message", "duration_ms")} for c in last.components]
        data = {"state": last.state, "score": last.score, "formula": last.formula, "checked_at": last.checked_at,
                "duration_ms": last.duration_ms, "components": components}
        return {**data, "source": "recorded", "health_check_id": last.pk, "age_seconds": _age(now, last.checked_at)}
    return {**report_data(run_checks(), details=False), "source": "live", "health_check_id": None, "age_seconds": 0}


def _json_details(details: dict[str, Any]) -> dict[str, Any]:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    loaded: dict[str, Any] = json.loads(json.dumps(details, cls=DjangoJSONEncoder))
    return loaded


@use_case
def health_check_record(*, actor: Actor, report: HealthReport, source: str) -> HealthCheck:
    """Stores a report (the minutely job): what the status page's history and get_system_status read."""
    data = report_data(report)
    components = [{**c, "details": _json_details(c["details"])} for c in data["components"]]
    check = HealthCheck(checked_at=report.checked_at, score=report.score, state=report.state, formula=report.formula,
                        components=components, duration_ms=report.duration_ms, source=source[:40])
    check.save(force_insert=True)
    return check


@use_case
def health_check_purge(*, actor: Actor) -> int:
    """Deletes recorded checks older than HEALTH_CHECK_RETENTION_DAYS."""
    before = clock.now() - dt.timedelta(days=int(settings.HEALTH_CHECK_RETENTION_DAYS))
    deleted, _ = HealthCheck.objects.filter(checked_at__lt=before).delete()
    return deleted


@use_case
def worker_heartbeat_record(*, actor: Actor, worker: str) -> WorkerHeartbeat:
    """The worker that ran the heartbeat task is alive now (one row per worker, updated in place)."""
    now = clock.now()
    heartbeat = WorkerHeartbeat.objects.select_for_update().filter(worker=worker[:200]).first()
    if heartbeat is None:
        heartbeat = WorkerHeartbeat(worker=worker[:200], first_seen=now, last_seen=now, beats=1)
        heartbeat.save(force_insert=True)
        return heartbeat
    heartbeat.last_seen, heartbeat.beats = now, heartbeat.beats + 1
    heartbeat.save(update_fields=["last_seen", "beats"])
    return heartbeat


@use_case
def ledger_verification_record(*, actor: Actor, report: Any, started_at: dt.datetime, finished_at: dt.datetime,
                               source: str) -> LedgerVerification:
    """Stores a ledger verification's result (`wallets.selectors.verify.LedgerReport`)."""
    verification = LedgerVerification(started_at=started_at, finished_at=finished_at, ok=report.ok,
                                      problem_count=len(report.problems), problems=list(report.problems[:20]),
                                      entries=report.entries, postings=report.postings, accounts=report.accounts,
                                      source=source[:40])
    verification.save(force_insert=True)
    return verification


def on_ledger_verified(sender: Any, *, report: Any, started_at: dt.datetime, finished_at: dt.datetime,
                       source: str, **_: Any) -> None:
    """Receiver of wallets.signals.ledger_verified."""
    ledger_verification_record(actor=Actor.for_task(source), report=report, started_at=started_at,
                               finished_at=finished_at, source=source)
