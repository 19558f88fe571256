"""The health score, its formula, and the runner's bounds: a broken check is its component down with the
reason, a hung network check is down within the timeout, and every component is timed."""

import datetime as dt
import threading
import time

import pytest

from core import clock
from monitoring import health
from monitoring.health import ComponentResult

pytestmark = pytest.mark.django_db


def test_builtin_components_and_weights_sum_to_100():
    assert health.registered_components() == {
        "database": 20, "cache": 10, "broker": 10, "worker": 10, "beat": 10, "outbox": 10, "disk": 10,
        "fraud_model": 5, "ledger_verification": 10, "audit_chain": 5}


def test_score_formula_with_exact_numbers():
    score, formula = health.score_of([("database", 20, "ok"), ("cache", 10, "degraded"), ("broker", 10, "down"),
                                      ("worker", 10, "ok"), ("beat", 10, "degraded"), ("outbox", 10, "ok"),
                                      ("disk", 10, "ok"), ("fraud_model", 5, "degraded"),
                                      ("ledger_verification", 10, "ok"), ("audit_chain", 5, "down")])
    # 20 + 5 + 0 + 10 + 5 + 10 + 10 + 2.5 + 10 + 0 = 72.5 of 100
    assert score == 73
    assert formula == (
        "score = round(100 × Σ(weight × factor) / Σ weight), factor ok 1, degraded 0.5, down 0 = round(100 × "
        "(database 20×1 + cache 10×0.5 + broker 10×0 + worker 10×1 + beat 10×0.5 + outbox 10×1 + disk 10×1 + "
        "fraud_model 5×0.5 + ledger_verification 10×1 + audit_chain 5×0) / 100) = round(100 × 72.5 / 100) = 73")


@pytest.mark.parametrize(("states", "score"), [
    ([("a", 3, "ok")], 100),
    ([("a", 3, "down")], 0),
    ([("a", 1, "ok"), ("b", 2, "down")], 33),  # 100 × 1 / 3 = 33.3
    ([("a", 1, "degraded"), ("b", 2, "ok")], 83),  # 100 × 2.5 / 3 = 83.3
    ([("a", 1, "degraded"), ("b", 1, "down"), ("c", 2, "down")], 13),  # 100 × 0.5 / 4 = 12.5, half up
    ([("a", 0, "down"), ("b", 5, "ok")], 100),
    ([], 0),
])
def test_score_rounds_half_up_over_the_total_weight(states, score):
    assert health.score_of(states)[0] == score


@pytest.fixture
def only(monkeypatch):
    """Replaces the registry by the given components for one test."""
    def use(*components):
        monkeypatch.setattr(health, "_components", {})
        for name, check, weight, threaded in components:
            health.register_component(name, check, weight=weight, threaded=threaded)

    return use


def test_run_checks_reports_each_component_timed_and_the_score(only):
    only(("database", lambda: ComponentResult("ok", "fine", {"n": 1}), 20, False),
         ("slow", lambda: (time.sleep(0.05), ComponentResult("degraded", "slow", {}))[1], 10, False),
         ("net", lambda: ComponentResult("down", "refused", {"port": 1}), 10, True))
    moment = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with clock.frozen_at(moment):
        report = health.run_checks()
    assert [(c.name, c.weight, c.state, c.message, c.details) for c in report.components] == [
        ("database", 20, "ok", "fine", {"n": 1}), ("slow", 10, "degraded", "slow", {}),
        ("net", 10, "down", "refused", {"port": 1})]
    assert report.components[1].duration_ms >= 50
    assert (report.score, report.state, report.checked_at) == (63, "degraded", moment)  # 100 × 25 / 40 = 62.5
    assert report.formula.endswith("= round(100 × (database 20×1 + slow 10×0.5 + net 10×0) / 40) "
                                   "= round(100 × 25 / 40) = 63")


def test_a_check_that_raises_is_down_with_its_message_and_logged(only, caplog):
    def broken():
        raise RuntimeError("no route to the thing")

    only(("database", lambda: ComponentResult("ok", "fine"), 20, False), ("thing", broken, 10, False),
         ("odd", lambda: ComponentResult("sideways", "?"), 5, True))
    with caplog.at_level("WARNING", logger="monitoring.health"):
        report = health.run_checks()
    thing, odd = report.component("thing"), report.component("odd")
    assert (thing.state, thing.message, thing.details) == ("down", "check failed: RuntimeError: no route to the thing",
                                                          {"error": "RuntimeError"})
    assert (odd.state, odd.message) == ("down", "check failed: ValueError: the check answered the unknown state "
                                                "'sideways'")
    failed = [r for r in caplog.records if r.getMessage() == "health: check failed"]
    assert sorted(r.component for r in failed) == ["odd", "thing"]
    assert all(r.exc_info for r in failed)
    assert report.score == 57  # 100 × 20 / 35 = 57.1


def test_a_hung_network_check_is_down_within_the_timeout(only, settings):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.2
    release = threading.Event()

    def hangs():
        release.wait(10)
        return ComponentResult("ok", "late")

    only(("database", lambda: ComponentResult("ok", "fine"), 20, False), ("hung", hangs, 10, True))
    started = time.perf_counter()
    try:
        report = health.run_checks()
    finally:
        release.set()
    elapsed = time.perf_counter() - started
    hung = report.component("hung")
    assert elapsed < 0.2 + health.THREAD_GRACE_SECONDS + 0.5
    assert (hung.state, hung.message, hung.details) == ("down", "no answer within 0.2 s", {"timeout_seconds": 0.2})
    assert report.score == 67


def test_a_database_check_that_fails_spoils_no_other_check(only):
    from django.db import connection

    def bad_sql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
        return ComponentResult("ok", "impossible")

    only(("bad", bad_sql, 10, False), ("database", health.check_database, 20, False))
    report = health.run_checks()
    assert report.component("bad").state == "down"
    assert report.component("bad").message.startswith("check failed: ")
    assert report.component("database").state == "ok"
    assert report.score == 67


def test_registering_another_check_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="Health component database registered twice."):
        health.register_component("database", lambda: ComponentResult("ok", ""), weight=1)


@pytest.mark.postgres
def test_a_hung_database_check_is_cancelled_at_the_budget_and_spoils_nothing(only, settings):
    from django.db import connection

    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3

    def sleeps():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        return ComponentResult("ok", "woke up")

    only(("sleepy", sleeps, 10, False), ("database", health.check_database, 20, False))
    started = time.perf_counter()
    report = health.run_checks()
    assert time.perf_counter() - started < 2
    sleepy = report.component("sleepy")
    assert (sleepy.state, sleepy.details) == ("down", {"error": "OperationalError"})
    assert sleepy.message == "check failed: OperationalError: canceling statement due to statement timeout"
    assert report.component("database").state == "ok"
    with connection.cursor() as cursor:  # the test's transaction is usable, the session's timeout unchanged
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
