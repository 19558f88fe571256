"""The benches run end to end on a tiny input, so a change that breaks them fails here, not on the
day someone needs the numbers. Their own checks (one paid invoice per subscription, gapless
numbers, a verified ledger) are asserted; their speed is not (that is what docs/PERFORMANCE.md is for)."""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def scratch_database(db):
    cfg = settings.DATABASES["default"]
    name = f"{cfg['NAME']}_bench"
    host = {"host": cfg.get("HOST") or None, "port": cfg.get("PORT") or None, "user": cfg.get("USER") or None,
            "password": cfg.get("PASSWORD") or None}
    url = (f"postgres://{cfg.get('USER') or 'postgres'}:{cfg.get('PASSWORD') or ''}@{cfg.get('HOST') or '127.0.0.1'}"
           f":{cfg.get('PORT') or 5432}/{name}")

    def drop():
        with psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in host.items() if v}) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    yield url
    drop()


def _run(script, url, *args):
    # A cache namespace of its own, as its database is: snapshots the tests stored in the same Redis (an active
    # model's id, an API key) name rows of the test database, not of the bench's.
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
           "REDIS_KEY_PREFIX": f"bench-{os.getpid()}-{uuid.uuid4().hex[:8]}"}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_billing_bench_bills_every_subscription_once(scratch_database):
    out = json.loads(_run("billing.py", scratch_database, "--subscriptions", "300", "--customers", "50",
                          "--workers", "2", "--chunk-size", "40", "--analyze-every", "0.2"))
    assert out["check"] == {"invoices": 300, "paid": 300, "subscriptions_with_two": 0, "payments_succeeded": 300,
                            "numbers_gapless": True, "expected": 300}
    assert sum(w["renewed"] for w in out["workers_detail"]) == 300
    assert sum(w["errors"] for w in out["workers_detail"]) == 0
    assert out["invoices_charged_per_second"] > 0


def test_ledger_bench_compares_service_and_raw_sql_and_verifies(scratch_database):
    out = json.loads(_run("ledger.py", scratch_database, "--workers", "2", "--seconds", "0.5", "--rounds", "1",
                          "--wallets", "20", "--json"))
    assert out["ledger_ok"] is True
    assert set(out["results"]) == {"spread", "hot"}
    for shape in out["results"].values():
        assert shape["service_tps"] > 0 and shape["raw_sql_tps"] > 0


def test_risk_bench_scores_with_the_model(scratch_database):
    out = json.loads(_run("risk.py", scratch_database, "--payments", "3000", "--calls", "40"))
    assert (out["stored_payments"], out["customers"], out["merchants"]) == (3000, 30, 5)
    assert out["scored_by_model_with_explanation"] == 40
    assert out["model_alone"]["calls"] == 30 and out["score_with_features"]["calls"] == 30


def test_http_bench_serves_every_door_open_loop_and_checks_the_rows(scratch_database, tmp_path):
    out_file = tmp_path / "http.json"
    _run("http.py", scratch_database, "--server", "granian", "--scenario", "transfers",
         "--scenario", "transfers-one-wallet", "--scenario", "withdrawals", "--scenario", "payments",
         "--scenario", "mcp-create-payment",
         "--rates", "10", "--seconds", "1", "--warmup", "0.5", "--wallets", "5", "--keys", "2",
         "--json", str(out_file))
    out = json.loads(out_file.read_text())
    assert list(out["results"]) == ["readyz", "transfers", "transfers-one-wallet", "withdrawals", "payments",
                                    "mcp-create-payment"]
    for steps in out["results"].values():
        assert [(s["offered"], s["requests"], s["ok"], s["errors"]) for s in steps] == [(10.0, 10, 10, 0)]
    # Warm-ups (5 each) plus the measured steps: every success left its row, and nothing more.
    assert out["check"] == {"ledger_ok": True, "transfer_entries": 30, "transfers_ok": 30, "withdrawal_entries": 15,
                            "withdrawals_ok": 15, "payments_succeeded": 30, "payments_ok": 30, "counts_match": True}
    assert out["meta"]["command"].startswith("python -m config.serve --host 127.0.0.1 --port ")
    assert out["results"]["transfers"][0]["app_cpu_ms"] > 0 and out["results"]["transfers"][0]["db_cpu_ms"] > 0


def test_events_bench_delivers_every_event_once_and_compares_transfers_with_events_off(scratch_database):
    out = json.loads(_run("events.py", scratch_database, "--events", "60", "--threads", "2", "--batch", "25",
                          "--seconds", "0.3", "--rounds", "2", "--wallets", "4", "--json"))
    assert out["ok"] is True
    assert out["deliveries"]["check"] == {"events": 60, "received_distinct": 60, "received_more_than_once": 0,
                                          "deliveries_succeeded": 60, "outbox_unsent": 0, "ok": True}
    assert list(out["transfers"]) == ["service", "rest"]
    for transfers in out["transfers"].values():
        assert len(transfers["on_runs"]) == len(transfers["off_runs"]) == 2
        assert transfers["check"]["off"] == 0 and transfers["check"]["on"] == transfers["check"]["on_transfers"] > 0
        assert transfers["events_off_tps"] > 0
    assert out["deliveries"]["deliveries_per_second"] > 0


def test_monitoring_bench_compares_transfers_with_and_without_request_metrics(scratch_database):
    out = json.loads(_run("monitoring.py", scratch_database, "--seconds", "0.3", "--rounds", "2", "--wallets", "4",
                          "--json"))
    assert out["check"]["ok"] is True
    assert out["check"]["recorded"] == out["check"]["on_transfers"] > 0
    assert len(out["on_runs"]) == len(out["off_runs"]) == 2
    assert "MONITORING_REQUEST_METRICS" in out["switched_off"]
    assert out["off_tps"] > 0 and out["on_over_off"] > 0


def test_requestlog_bench_splits_the_logs_cost_and_writes_every_captured_row(scratch_database):
    out = json.loads(_run("requestlog.py", scratch_database, "--requests", "100", "--rounds", "1", "--wallets", "3",
                          "--json"))
    # Each captured entry written twice: by COPY, then by bulk_create for the comparison.
    assert out["check"] == {"entries": 100, "rows_written": 200, "ok": True}
    assert len(out["on_runs"]) == len(out["off_runs"]) == 1
    assert out["row_build_us"] > 0 and out["copy_us_per_row"] > 0 and out["bulk_create_us_per_row"] > 0
    assert out["hand_over_us_per_row"] > 0
    # capture_us is a difference of two timed runs: on a tiny run the noise may give it either sign.
    assert out["transfer_cpu_us_log_off"] > 0 and isinstance(out["capture_us"], float)


def test_collector_bench_compares_released_and_kept_cycles(scratch_database):
    out = json.loads(_run("collector.py", scratch_database, "--requests", "50", "--rounds", "1", "--wallets", "3",
                          "--json"))
    assert out["check"] == {"transfers_sent": 350, "entries_written": 350, "ok": True}
    # The request's own objects (its DRF request, view, response) leave the cycles when released; what stays is
    # the same every request (a serializer's binding, the rows' one-to-one caches).
    assert 0 < out["released"]["objects_in_cycles_per_request"] < out["kept"]["objects_in_cycles_per_request"] - 50
    assert len(out["released"]["runs"]) == len(out["kept"]["runs"]) == 1
    full = out["full_collection"]
    assert full["tracked_objects"] > 100_000 and full["ms_after_freeze"] < full["ms"]


def _waldump_readable() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('data_directory'), current_setting('server_version_num')::int / 10000")
        data_directory, major = cursor.fetchone()
    return os.access(f"/usr/lib/postgresql/{major}/bin/pg_waldump", os.X_OK) and os.access(f"{data_directory}/pg_wal",
                                                                                          os.R_OK)


def test_request_profile_times_both_doors_and_dumps_cpu_profiles(scratch_database, tmp_path):
    out = _run("profile_request.py", scratch_database, "--requests", "4", "--wallets", "3",
               "--dump", str(tmp_path / "p"))
    assert "== REST POST /api/v1/transfers: 4 requests" in out and "== MCP tools/call create_payment: 4 requests" in out
    assert "-- own time by package (profiled run)" in out
    assert (tmp_path / "p-rest.prof").stat().st_size > 0 and (tmp_path / "p-mcp.prof").stat().st_size > 0
    timed = _run("profile_request.py", scratch_database, "--requests", "3", "--wallets", "3", "--no-cprofile",
                 "--door", "rest", "--phases")
    assert "== REST POST /api/v1/transfers: 3 requests" in timed and "MCP" not in timed and "own time" not in timed
    # The phases of a transfer: its three statements (lease, wallet lock, write) and what comes before, between, after.
    phases = re.findall(r"^   (before statement 1|statement \d|between statements \d and \d|after statement \d) +"
                        r"\d+\.\d\d ms$", timed, re.M)
    assert phases == ["before statement 1", "statement 1", "between statements 1 and 2", "statement 2",
                      "between statements 2 and 3", "statement 3", "after statement 3"], timed
    # The database's CPU per request, read from its backend's /proc entry; the connection lasted the loop.
    assert re.search(r"^   PostgreSQL backend CPU \d+\.\d\d ms per request$", timed, re.M), timed
    # What the transfers wrote to the WAL: bytes anywhere; where pg_waldump may read it (as on our machines), the
    # records split out, at least a transfer's own rows and index entries (other tests' writes may add to them).
    wal = re.search(r"^   WAL per request \(the whole server's: run it alone\): (?:(\d+\.\d) records \((\d+\.\d) index "
                    r"entries, (\d+\.\d) rows inserted\)|\d+\.\d KiB \(pg_waldump)", timed, re.M)
    assert wal, timed
    if _waldump_readable():
        records, index_entries, rows = (float(n) for n in wal.groups())
        assert records >= index_entries >= 25 and rows >= 5, timed
    floor = _run("profile_request.py", scratch_database, "--requests", "2", "--wallets", "1", "--no-cprofile",
                 "--door", "readyz", "--show-sql")
    assert "== GET /readyz: 2 requests" in floor and "REST" not in floor
    # /readyz's one statement, printed as sent.
    assert floor.split("-- the statements of one request\n")[1].strip() == "SELECT 1"


def test_goals_bench_judges_a_goal_beside_the_boxs_speed(scratch_database, tmp_path):
    out_file = tmp_path / "goals.json"
    env = {**os.environ, "DATABASE_URL": scratch_database, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
           "REDIS_KEY_PREFIX": f"bench-{os.getpid()}-{uuid.uuid4().hex[:8]}"}
    # A fiftieth of the goal's rate: what is checked is the plumbing and the verdict's agreement with the exit
    # status, not the goal (a busy test box may still miss a p99 at 6/s).
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "goals.py"), "--scenario", "transfers-one-wallet",
                           "--rate-scale", "0.02", "--seconds", "1", "--profile-requests", "3",
                           "--http-arg=--wallets=5", "--http-arg=--keys=2", "--http-arg=--warmup=0.5",
                           "--json", str(out_file)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    [verdict] = json.loads(out_file.read_text())["verdicts"]
    assert (verdict["scenario"], verdict["offered"], verdict["errors"]) == ("transfers-one-wallet", 6.0, 0)
    assert verdict["goal"] == "p99 <= 150 ms"
    assert verdict["met"] is (not verdict["missed"]) is (done.returncode == 0)
    assert verdict["box_before_ms"] > 0 and verdict["box_after_ms"] > 0 and verdict["app_cpu_ms"] > 0
    assert re.search(r"^  box: \d+\.\d\d ms CPU per transfer in one process, PostgreSQL \d+\.\d\d ms$", done.stdout,
                     re.M), done.stdout
    assert "(rates scaled by 0.02: a smoke run, not the goals)" in done.stdout
