"""The production web server (config/serve.py, granian in WSGI mode): what it must do around granian.

Its access log is tested in test_serve_logging.py, its static files in test_serve.py.
"""

import datetime as dt
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import serve
from tests.foundation.test_serve_logging import (
    _free_port,
    _running,
    _serve_command,
    _server_env,
    _status,
    _stop,
    _wait_for_lines,
)

ROOT = Path(__file__).resolve().parents[2]


def _recording_app(seen: dict):
    def app(environ, start_response):
        seen.clear()
        seen.update(environ)
        return [b""]

    return app


def test_a_request_environ_carries_none_of_the_process_environment():
    seen: dict = {}
    process = {"SECRET_KEY": "s", "DATABASE_URL": "postgres://u:p@h/d", "FIELD_ENCRYPTION_KEYS": "k",
               "PATH": "/usr/bin", "SERVER_NAME": "from-the-shell", "HTTP_PROXY": "http://u:p@proxy:3128",
               "HTTPS": "on", "REMOTE_USER": "root"}
    wrapped = serve.without_process_environment(_recording_app(seen), process)
    # What granian hands the application: the process environment, then the request's own variables.
    request = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "QUERY_STRING": "", "SERVER_NAME": "h",
               "HTTP_HOST": "h", "wsgi.url_scheme": "http"}
    assert wrapped({**process, **request}, None) == [b""]
    assert seen == request
    # A header or CGI variable the request did set is the request's, whatever the process has.
    assert wrapped({**process, **request, "HTTP_PROXY": "x", "HTTPS": "off"}, None) == [b""]
    assert seen == {**request, "HTTP_PROXY": "x", "HTTPS": "off"}


def test_the_server_loads_the_application_behind_that_filter(monkeypatch):
    import config.wsgi

    seen: dict = {}
    monkeypatch.setattr(config.wsgi, "application", _recording_app(seen))
    monkeypatch.setenv("SECRET_KEY", "not-for-requests")
    app = serve.load_application()
    app({**os.environ, "REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "HTTP_HOST": "h"}, None)
    assert seen == {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "HTTP_HOST": "h"}


def test_a_worker_freezes_what_loading_made():
    # In a process of its own: freezing is for good (a frozen object is never collected), not for a test run.
    code = ("import gc, time; "
            "from config import serve; serve.load_application(); "
            "frozen, tracked = gc.get_freeze_count(), len(gc.get_objects()); "
            "began = time.process_time(); gc.collect(); spent = time.process_time() - began; "
            "gc.unfreeze(); began = time.process_time(); gc.collect(); unfrozen = time.process_time() - began; "
            "print(frozen, tracked, spent, unfrozen)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "LOG_LEVEL": "WARNING"})
    assert done.returncode == 0, done.stderr[-2000:]
    frozen, tracked, spent, unfrozen = done.stdout.split()[-4:]
    # Django and the URLconf's views loaded (~195 k objects): frozen, a few hundred left for the collector's passes.
    assert int(frozen) > 100_000 and int(tracked) < int(frozen) / 100
    assert float(spent) < float(unfrozen)


def test_the_metrics_directory_is_emptied_before_the_workers_start(tmp_path, monkeypatch):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"an earlier server's series")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    assert serve.prepare_metrics_directory() == str(directory)
    assert list(directory.iterdir()) == []

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    made = serve.prepare_metrics_directory()
    assert made == str(tmp_path / f"bo-prometheus-{os.getpid()}") == os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert Path(made).is_dir()


def _append_line(path: str) -> None:
    with open(path, "a") as out:
        out.write(f"{os.getpid()}\n")


def _register_and_return(path: str) -> None:
    from core.exits import at_exit

    at_exit(lambda: _append_line(path))


def test_at_exit_runs_once_in_a_forked_multiprocessing_child_and_in_a_plain_process(tmp_path):
    # A forked multiprocessing child (a granian worker) leaves by os._exit: atexit alone never ran there.
    forked = tmp_path / "forked"
    child = multiprocessing.get_context("fork").Process(target=_register_and_return, args=(str(forked),))
    child.start()
    child.join(timeout=30)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0
    assert forked.read_text() == f"{child.pid}\n"

    plain = tmp_path / "plain"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from core.exits import at_exit; "
            "at_exit(lambda: open(sys.argv[2], 'a').write('ran\\n'))")
    subprocess.run([sys.executable, "-c", code, str(ROOT), str(plain)], check=True, timeout=60)
    assert plain.read_text() == "ran\n"


def _rest_minutes(database: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT name, SUM(count) FROM monitoring_requestmetricminute WHERE kind = 'rest' "
                          "GROUP BY name ORDER BY name").fetchall()


def test_a_worker_writes_its_last_minute_of_request_metrics_as_the_server_stops(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "MONITORING_METRICS_FLUSH")}
    # The settings `make serve` runs with: metrics written by each worker's background writer.
    env.update(DATABASE_URL=f"sqlite:///{database}", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=300, capture_output=True)
    port = _free_port()
    log = tmp_path / "serve.log"
    with _running(_serve_command(port), env, log, port):
        # The port is bound before the workers have loaded the application: both answer first.
        assert [_status(f"http://127.0.0.1:{port}/healthz", timeout=60) for _ in range(4)] == [200] * 4
        # Far enough from a minute's end that the writer's own timer cannot write the minute first.
        if dt.datetime.now().second >= 45:
            time.sleep(61 - dt.datetime.now().second)
        statuses = [_status(f"http://127.0.0.1:{port}/api/v1/payments") for _ in range(6)]
        assert _rest_minutes(database) == []
    assert statuses == [401] * 6
    assert _rest_minutes(database) == [("GET /api/v1/payments", 6)], log.read_text()


def test_the_workers_run_with_the_gil_switch_interval_asked_for(tmp_path):
    env = _server_env(tmp_path, WEB_SWITCH_INTERVAL_MS="2.5", WEB_CONCURRENCY="2")
    port = _free_port()
    log = tmp_path / "serve.log"
    with _running(_serve_command(port), env, log, port):
        deadline = time.monotonic() + 60
        while log.read_text().count("Started worker-") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    lines = [line for line in log.read_text().splitlines() if '"logger": "config.serve"' in line]
    assert len(lines) == 2 and all("(GIL switch interval 2.5 ms)" in line for line in lines), lines


def test_a_worker_interrupted_before_it_loads_the_application_stops_and_the_main_process_stops_gracefully():
    """A forked worker has the main process's handler until granian's worker code sets its own, after loading."""
    from granian.constants import Interfaces

    from config.serve import server_class

    server = server_class()("config.serve:load_application", port=_free_port(), interface=Interfaces.WSGI)
    pid = os.fork()
    if pid == 0:  # a worker, forked and not yet serving
        try:
            server.signal_handler_interrupt(signal.SIGTERM, None)
        finally:
            os._exit(3)  # only if the handler returned: granian's own marks the server and carries on
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
    assert server.interrupt_signal is False
    server.signal_handler_interrupt(signal.SIGTERM, None)  # the main process: granian's graceful stop
    assert server.interrupt_signal is True


def test_a_server_stopped_while_its_workers_load_the_application_stops_at_once(tmp_path):
    workers = 2
    env = _server_env(tmp_path, WEB_CONCURRENCY=str(workers))
    port = _free_port()
    log = tmp_path / "serve.log"
    # The main process binds the port, then forks the workers, which take seconds to load Django. The signal goes
    # once every worker says it is loading: waiting for the port to answer sent it as the first worker began to
    # serve, into granian's own start-up (a worker that had just started serving once missed it and was killed
    # 30 s later, in CI; see docs/PERFORMANCE.md's ninth session).
    with log.open("w") as out:
        process = subprocess.Popen(_serve_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_for_lines(log, "loading the application", workers, seconds=120)
        assert log.read_text().count("loading the application") == workers, log.read_text()
        assert "Started worker" not in log.read_text(), log.read_text()
        began = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        # Granian kills a worker that ignored the signal after its 30 s kill timeout.
        assert time.monotonic() - began < 15, log.read_text()
    finally:
        _stop(process)
    assert "refused to gracefully stop" not in log.read_text()



@pytest.mark.postgres
@pytest.mark.django_db
def test_the_server_keeps_its_database_connections_from_request_to_request(tmp_path):
    # CONN_MAX_AGE: a connection per blocking thread, kept; never one per request.
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    login = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = _server_env(tmp_path, f"{url}?application_name=bo-serve-test")
    env.pop("CONN_MAX_AGE", None)
    port = _free_port()

    def server_connections(monitor) -> set[tuple[int, object]]:
        rows = monitor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE datname = %s "
                               "AND application_name = 'bo-serve-test'", [db["NAME"]]).fetchall()
        return set(rows)

    with psycopg.connect(url, autocommit=True) as monitor, _running(_serve_command(port), env,
                                                                     tmp_path / "serve.log", port):
        assert [_status(f"http://127.0.0.1:{port}/readyz", timeout=60) for _ in range(60)] == [200] * 60
        first = server_connections(monitor)
        assert [_status(f"http://127.0.0.1:{port}/readyz") for _ in range(60)] == [200] * 60
        second = server_connections(monitor)
    # Open between requests, and never more than one per thread: 2 workers x 2 threads.
    assert 1 <= len(first) and len(first | second) <= 4, (first, second)
