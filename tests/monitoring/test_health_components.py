"""Each built-in health component, its ok path and its failing paths, with exact states and messages."""

import datetime as dt
import socket
import time
from collections import namedtuple

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from compliance.models import AuditChainCheck
from core import clock
from core.context import Actor
from core.models import OutboxMessage
from monitoring import health
from monitoring.models import LedgerVerification, WorkerHeartbeat
from monitoring.tasks_health import worker_heartbeat
from wallets.tasks import verify_ledger

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
ACTOR = Actor.system("tests")


def _check(name):
    with clock.frozen_at(NOW):
        return health.run_checks([name]).component(name)


# --- database, cache, broker -------------------------------------------------------------------------
def test_database_answers(settings):
    db = _check("database")
    assert db.state == "ok"
    assert db.message.startswith(f"{db.details['vendor']} {db.details['version']} answered SELECT 1 in ")
    settings.HEALTH_SLOW_MS = -1
    assert _check("database").state == "degraded"


def test_cache_without_redis_is_the_in_process_cache(settings):
    settings.REDIS_URL = ""
    cache = _check("cache")
    assert (cache.state, cache.message) == ("ok", "in-process cache (REDIS_URL is not set): each process has its own, "
                                                  "so rate limits and cached settings are per process")
    assert cache.details["backend"] == "in-process (LocMemCache)"


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers (a hung service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("where", ["refused", "silent"])
def test_an_unreachable_or_hung_redis_is_down_quickly_for_cache_and_broker(settings, silent_port, where):
    url = "redis://127.0.0.1:1/0" if where == "refused" else f"redis://:secret@127.0.0.1:{silent_port}/0"
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    started = time.perf_counter()
    with clock.frozen_at(NOW):
        report = health.run_checks(["cache", "broker"])
    assert time.perf_counter() - started < 0.3 + health.THREAD_GRACE_SECONDS + 0.5
    for name in ("cache", "broker"):
        component = report.component(name)
        assert component.state == "down"
        assert component.message.startswith(("check failed: ConnectionError", "check failed: TimeoutError",
                                             "no answer within 0.3 s")), component.message
        assert "secret" not in component.message


def test_redis_cache_and_broker_when_configured(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    report = health.run_checks(["cache", "broker"])
    cache, broker = report.component("cache"), report.component("broker")
    assert (cache.state, cache.details["backend"]) == ("ok", "redis")
    assert cache.message.startswith(f"Redis {cache.details['redis_version']} at ")
    assert (broker.state, broker.details["transport"]) == ("ok", "redis")
    assert broker.details["queued"] >= 0


def test_embedded_filesystem_broker(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://localhost"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing"),
                                                "data_folder_out": str(tmp_path / "missing")}
    broker = _check("broker")
    assert (broker.state, broker.message) == (
        "down", f"the embedded filesystem broker (REDIS_URL is not set; no broker service): its folder "
                f"{tmp_path / 'missing'} does not exist, so no task reaches a worker (scripts/run.sh creates it)")
    (tmp_path / "in").mkdir()
    for n in range(3):
        (tmp_path / "in" / f"{n}.celery.msg").write_text("{}")
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "in")}
    broker = _check("broker")
    assert (broker.state, broker.message, broker.details) == (
        "ok", f"the embedded filesystem broker (REDIS_URL is not set; no broker service): tasks are files in "
              f"{tmp_path / 'in'}, 3 waiting", {"transport": "filesystem", "folder": str(tmp_path / "in"), "queued": 3})
    settings.HEALTH_BROKER_QUEUE_DEGRADED = 2
    assert _check("broker").state == "degraded"


# --- worker heartbeat --------------------------------------------------------------------------------
def test_worker_heartbeat_fresh_stale_and_missing():
    assert _check("worker").message == ("no worker heartbeat in the last 24 h: is a Celery worker running, and beat "
                                        "queueing monitoring.worker_heartbeat every minute?")
    with clock.frozen_at(NOW - dt.timedelta(seconds=60)):
        worker_heartbeat.apply()  # the task as a worker runs it
    worker = _check("worker")
    name = WorkerHeartbeat.objects.get().worker
    assert (worker.state, worker.message) == ("ok", "1 worker(s) beating; the last heartbeat 60 s ago")
    assert worker.details == {"stale_after_seconds": 180, "workers": [
        {"worker": name, "last_seen": "2026-03-02T11:59:00Z", "age_seconds": 60}]}

    with clock.frozen_at(NOW - dt.timedelta(seconds=30)):
        health.worker_heartbeat_record(actor=ACTOR, worker="celery@b")
    with clock.frozen_at(NOW + dt.timedelta(seconds=150)):  # the first worker is 210 s old, b 180 s
        report = health.run_checks(["worker"])
    assert (report.component("worker").state, report.component("worker").message) == (
        "degraded", f"1 of 2 workers seen in 24 h are beating; stopped: {name}")

    with clock.frozen_at(NOW + dt.timedelta(seconds=151)):
        report = health.run_checks(["worker"])
    assert (report.component("worker").state, report.component("worker").message) == (
        "down", "the last heartbeat (celery@b) is 181 s old, stale after 180 s: no worker is taking tasks")
    assert WorkerHeartbeat.objects.get(worker="celery@b").beats == 1


def test_a_starting_worker_beats_as_it_becomes_ready():
    """Its first heartbeat as the worker becomes ready, before any task: the minutely task may come a minute later,
    or after the health check beat queued with it, and a worker that was up must not look down meanwhile."""
    from celery.signals import worker_ready

    assert _check("worker").state == "down"
    with clock.frozen_at(NOW - dt.timedelta(seconds=5)):
        worker_ready.send(sender=namedtuple("Consumer", "hostname")("celery@box"))  # as the worker sends it
    worker = _check("worker")
    assert (worker.state, worker.message) == ("ok", "1 worker(s) beating; the last heartbeat 5 s ago")
    assert list(WorkerHeartbeat.objects.values_list("worker", "first_seen", "beats")) == [
        ("celery@box", NOW - dt.timedelta(seconds=5), 1)]


def test_a_heartbeat_updates_its_row():
    with clock.frozen_at(NOW):
        health.worker_heartbeat_record(actor=ACTOR, worker="celery@a")
    with clock.frozen_at(NOW + dt.timedelta(minutes=1)):
        health.worker_heartbeat_record(actor=ACTOR, worker="celery@a")
    row = WorkerHeartbeat.objects.get()
    assert (row.worker, row.first_seen, row.last_seen, row.beats) == ("celery@a", NOW, NOW + dt.timedelta(minutes=1),
                                                                      2)


# --- beat -----------------------------------------------------------------------------------------------
@pytest.fixture
def schedules():
    """Only this test's schedules are enabled; the migrations' rows are switched off (rolled back after)."""
    PeriodicTask.objects.update(enabled=False)
    minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    nightly, _ = CrontabSchedule.objects.get_or_create(minute="15", hour="2", day_of_week="*", day_of_month="*",
                                                       month_of_year="*", timezone="UTC")
    every = PeriodicTask.objects.create(name="t: every minute", task="t.minute", interval=minute)
    night = PeriodicTask.objects.create(name="t: nightly", task="t.nightly", crontab=nightly)
    return every, night


def _ran(task, at):
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=at)


def test_beat_on_time(schedules):
    every, night = schedules
    _ran(every, NOW - dt.timedelta(seconds=50))
    _ran(night, dt.datetime(2026, 3, 2, 2, 15, tzinfo=dt.UTC))
    beat = _check("beat")
    assert (beat.state, beat.message) == ("ok", "2 schedule(s) on time; the last run 50 s ago")
    assert beat.details == {"schedules": 2, "grace_seconds": 120, "last_run_at": "2026-03-02T11:59:10Z",
                            "overdue": []}


def test_an_overdue_schedule_while_beat_runs_others_is_degraded(schedules):
    every, night = schedules
    _ran(every, NOW - dt.timedelta(seconds=30))
    _ran(night, dt.datetime(2026, 3, 1, 2, 15, tzinfo=dt.UTC))  # today's 02:15 run is missing
    beat = _check("beat")
    assert (beat.state, beat.message) == ("degraded", "1 schedule(s) overdue by more than 120 s while beat runs "
                                                      "others: t: nightly")
    assert beat.details["overdue"] == [{"name": "t: nightly", "task": "t.nightly",
                                        "last_run_at": "2026-03-01T02:15:00Z", "due_at": "2026-03-02T02:15:00Z",
                                        "late_seconds": 9 * 3600 + 45 * 60}]


def test_beat_not_running_is_down(schedules):
    every, night = schedules
    _ran(every, NOW - dt.timedelta(minutes=10))
    _ran(night, dt.datetime(2026, 3, 2, 2, 15, tzinfo=dt.UTC))
    beat = _check("beat")
    assert (beat.state, beat.message) == ("down", "beat has run no schedule since 2026-03-02T11:50:00Z: 1 overdue "
                                                  "(t: every minute); is celery beat running?")
    assert beat.details["overdue"][0]["late_seconds"] == 9 * 60


def test_the_health_schedules_exist_every_minute():
    rows = PeriodicTask.objects.filter(task__in=["monitoring.record_health_check", "monitoring.worker_heartbeat"]
                                       ).order_by("name")
    assert [(r.name, r.task, r.interval.every, r.interval.period, r.enabled) for r in rows] == [
        ("monitoring: record health check", "monitoring.record_health_check", 1, "minutes", True),
        ("monitoring: worker heartbeat", "monitoring.worker_heartbeat", 1, "minutes", True)]


# --- outbox ---------------------------------------------------------------------------------------------
def _outbox(due_at, sent_at=None):
    return OutboxMessage.objects.create(task="t", created=due_at, next_attempt_at=due_at, sent_at=sent_at)


def test_outbox_backlog(settings):
    OutboxMessage.objects.all().delete()
    _outbox(NOW - dt.timedelta(seconds=30))
    _outbox(NOW - dt.timedelta(hours=2), sent_at=NOW - dt.timedelta(hours=2))
    _outbox(NOW + dt.timedelta(minutes=5))
    outbox = _check("outbox")
    assert (outbox.state, outbox.message) == ("ok", "1 message(s) due, the oldest waiting 30 s; 1 scheduled later")
    assert outbox.details == {"due": 1, "scheduled_later": 1, "oldest_due_at": "2026-03-02T11:59:30Z",
                              "oldest_due_age_seconds": 30, "max_attempts": 0}
    _outbox(NOW - dt.timedelta(seconds=301))
    assert _check("outbox").state == "degraded"
    _outbox(NOW - dt.timedelta(seconds=1801))
    outbox = _check("outbox")
    assert (outbox.state, outbox.message) == (
        "down", "3 message(s) due, the oldest waiting 1801 s; 1 scheduled later (over 1800 s): is the relay "
                "(manage.py outbox_relay) running and the broker reachable?")


# --- disk -----------------------------------------------------------------------------------------------
Usage = namedtuple("Usage", "total used free")


def test_disk_free_space_thresholds(settings, tmp_path, monkeypatch):
    settings.HEALTH_DISK_PATH = tmp_path / "not" / "yet"
    total = 100 * 2**30
    for free, state in [(40 * 2**30, "ok"), (10 * 2**30, "degraded"), (4 * 2**30, "down")]:
        monkeypatch.setattr(health.shutil, "disk_usage", lambda path, free=free: Usage(total, total - free, free))
        disk = _check("disk")
        assert disk.state == state
        assert disk.details["measured_path"] == str(tmp_path)
    assert disk.message == f"4.0 GiB free of 100.0 GiB (4 %) at {tmp_path}: below 5 %"
    assert disk.details["free_percent"] == 4.0


# --- fraud model ----------------------------------------------------------------------------------------
def _register(artifact, version="fraud-t1"):
    from core.ml import registry

    active = registry.model_active("fraud")
    model = registry.model_register(actor=ACTOR, name="fraud", version=version, features=["a", "b"],
                                    artifact=artifact, artifact_format="xgboost-ubj", data_fingerprint="f" * 64,
                                    params={}, metrics={"auprc": 0.8, "roc_auc": 0.9})
    registry.model_promote(actor=ACTOR, model_id=model.id, evaluation={
        "candidate": {"auprc": 0.8, "roc_auc": 0.9}, "active": active.metrics if active else None,
        "baseline": {"auprc": 0.1}, "active_model_id": active.id if active else None})
    return model


def test_fraud_model_with_the_rule_set(settings):
    settings.PAYMENTS_RISK_SCORER = ""
    model = _check("fraud_model")
    assert (model.state, model.message, model.details) == (
        "ok", "payments are scored by the rule set (PAYMENTS_RISK_SCORER); no model is loaded",
        {"scorer": "rules", "registry_active_model": None})


def test_fraud_model_loaded_missing_and_broken(settings):
    import numpy as np
    import xgboost as xgb

    settings.PAYMENTS_RISK_SCORER = health.MODEL_SCORER
    model = _check("fraud_model")
    assert (model.state, model.message) == ("degraded", "no active fraud model: payments are scored by the rule set "
                                                        "until one is promoted")
    booster = xgb.train({"objective": "binary:logistic", "nthread": 1},
                        xgb.DMatrix(np.array([[0, 1], [1, 0], [1, 1], [0, 0]], dtype=np.float32),
                                    label=[0, 1, 1, 0]), num_boost_round=2)
    row = _register(bytes(booster.save_raw("ubj")))
    model = _check("fraud_model")
    assert (model.state, model.message) == ("ok", f"fraud model fraud-t1 ({row.id}) loaded in this process, "
                                                  "2 features")
    assert (model.details["auprc"], model.details["roc_auc"]) == (0.8, 0.9)

    broken = _register(b"not a model", version="fraud-t2")
    model = _check("fraud_model")
    assert model.state == "down"
    assert model.message.startswith("check failed: XGBoostError: ")
    assert broken.id != row.id


# --- ledger verification --------------------------------------------------------------------------------
def test_the_nightly_ledger_verification_is_recorded_and_read():
    assert _check("ledger_verification").state == "degraded"
    with clock.frozen_at(NOW - dt.timedelta(hours=3)):
        assert verify_ledger()["ok"] is True
    recorded = LedgerVerification.objects.get()
    assert (recorded.ok, recorded.problem_count, recorded.source, recorded.started_at) == (
        True, 0, "wallets.verify_ledger", NOW - dt.timedelta(hours=3))
    ledger = _check("ledger_verification")
    assert (ledger.state, ledger.message) == (
        "ok", f"the ledger verified 3.0 h ago: {recorded.entries} entries, {recorded.accounts} accounts, every "
              "invariant holds")
    with clock.frozen_at(NOW + dt.timedelta(hours=24)):
        stale = health.run_checks(["ledger_verification"]).component("ledger_verification")
    assert (stale.state, stale.message) == ("degraded", "the last ledger verification passed but is 27.0 h ago "
                                                        "(older than 26 h): is the nightly job running?")


def test_a_failed_ledger_verification_is_down():
    LedgerVerification.objects.create(started_at=NOW - dt.timedelta(hours=1), finished_at=NOW, ok=False,
                                      problem_count=2, problems=["entry 7 does not balance in USD: sums to 5", "x"],
                                      entries=9, postings=18, accounts=4, source="wallets.verify_ledger")
    ledger = _check("ledger_verification")
    assert (ledger.state, ledger.message) == ("down", "the last ledger verification (1.0 h ago) found 2 problem(s): "
                                                      "entry 7 does not balance in USD: sums to 5")


def test_the_command_records_its_verification_too(capsys):
    call_command("verify_ledger")
    assert LedgerVerification.objects.get().source == "manage.py verify_ledger"


# --- audit chain ----------------------------------------------------------------------------------------
def _chain(intact, hours_ago, **kwargs):
    at = NOW - dt.timedelta(hours=hours_ago)
    return AuditChainCheck.objects.create(started_at=at, finished_at=at, intact=intact, count=120, **kwargs)


def test_audit_chain_intact_stale_missing_and_broken():
    assert _check("audit_chain").message == ("the audit chain has not been verified yet (the nightly job, or "
                                             "manage.py verify_audit_chain)")
    _chain(True, 27)
    assert _check("audit_chain").message == ("the audit chain was intact 27.0 h ago, older than 26 h: is the nightly "
                                             "job running?")
    _chain(True, 2)
    assert (_check("audit_chain").state, _check("audit_chain").message) == (
        "ok", "the audit chain was intact 2.0 h ago: 120 sealed events")
    broken = _chain(False, 1, first_broken_event_id="evt_X", reason="altered")
    chain = _check("audit_chain")
    assert (chain.state, chain.message) == ("down", "the audit chain is broken (altered) at event evt_X, found 1.0 h "
                                                    "ago")
    assert chain.details["check_id"] == broken.pk
