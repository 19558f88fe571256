"""`make serve`'s web server (granian, started by config/serve.py) writes its access log through our logging:
no card number in any line."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.foundation.test_log_masking import PAN, SPACED, assert_no_card_number

ROOT = Path(__file__).resolve().parents[2]


def _serve_command(port: int) -> list[str]:
    """The server's command line in `make serve`, as the Makefile writes it."""
    recipe = ROOT.joinpath("Makefile").read_text().split("\nserve:", 1)[1]
    line = next(line for line in recipe.splitlines() if "$(PY) -m config.serve " in line)
    line = line[line.index("$(PY) "):].split("&&")[0].split(";")[0].strip()
    line = line.replace("$(PY)", sys.executable).replace("$(PORT)", str(port))
    return shlex.split(line)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 120) -> None:
    # Only a bound, returned from as soon as the server listens; no test here measures start-up. A slow shared
    # machine, running the suite two workers wide and with no cached bytecode, has taken more than 30 s.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited early"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("the server did not start listening")


def _wait_for_lines(log: Path, marker: str, count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and log.read_text().count(marker) < count:
        time.sleep(0.1)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's session (main process and workers); SIGKILL if it has not stopped in a minute."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise


def _server_env(tmp_path: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """This process's environment for a server under test: the test settings, its own database (a SQLite file in
    `tmp_path` unless given), its own metrics directory, no Redis; `extra` on top."""
    metrics = tmp_path / "prometheus"
    metrics.mkdir(exist_ok=True)  # config.serve empties it at start; other servers expect it to be there
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.test",
               DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'db.sqlite3'}",
               PROMETHEUS_MULTIPROC_DIR=str(metrics), **extra)
    return env


@contextmanager
def _running(command: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[subprocess.Popen]:
    """The server started in a session of its own, its output in `log`, listening on `port`; stopped at the end."""
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            _wait_for(port, process)
            yield process
        finally:
            _stop(process)


def _status(url: str, method: str = "GET", timeout: float = 10) -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_make_serve_access_log_masks_card_numbers_in_paths_and_query_strings(tmp_path):
    port = _free_port()
    command = _serve_command(port)
    assert command[1:3] == ["-m", "config.serve"]
    # No credentials: each request is refused (401/404) before anything reads the database.
    env = _server_env(tmp_path)
    log = tmp_path / "serve.log"
    with _running(command, env, log, port):
        base = f"http://127.0.0.1:{port}"
        statuses = [
            _status(f"{base}/api/v1/payments?customer_id={PAN}"),
            _status(f"{base}/api/v1/payments/{PAN}"),
            _status(f"{base}/api/v1/payments?customer_id={SPACED.replace(' ', '%20')}"),
            _status(f"{base}/mcp/?card={PAN}", method="POST"),
            _status(f"{base}/mcp/{PAN}", method="POST"),
        ]
        # A worker writes its access line after answering: on a busy machine it may not be there yet.
        _wait_for_lines(log, '"logger": "granian.access"', 5)
    assert statuses == [401, 401, 401, 401, 404]
    written = log.read_text()
    access = [line for line in written.splitlines() if '"logger": "granian.access"' in line]
    assert len(access) == 5, written
    assert_no_card_number(written)
    # Two workers write the lines after answering, so their order in the file may differ from the requests'.
    expected = ["GET /api/v1/payments?customer_id=[PAN ****4242] HTTP/1.1",
                "GET /api/v1/payments/[PAN ****4242] HTTP/1.1",
                "GET /api/v1/payments?customer_id=[PAN ****5556] HTTP/1.1",
                "POST /mcp/?card=[PAN ****4242] HTTP/1.1",
                "POST /mcp/[PAN ****4242] HTTP/1.1"]
    lines_matched = sorted(next(i for i, line in enumerate(access) if fragment in line) for fragment in expected)
    assert lines_matched == [0, 1, 2, 3, 4]


def _request_id_answered(url: str, request_id: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id} if request_id else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["X-Request-ID"]
    except urllib.error.HTTPError as exc:
        return exc.headers["X-Request-ID"]


def access_lines_by_target(command, tmp_path, logger: str, target_of) -> None:
    """Four requests through the server `command` starts (a caller's request id, none, one refused as it could be a
    card number, /healthz): the `logger` access lines' request_id, by request target (`target_of(message)`), is
    the id each response carried, the caller's or the one the application made."""
    port = _free_port()
    log = tmp_path / "server.log"
    with _running(command(port), _server_env(tmp_path), log, port):
        base = f"http://127.0.0.1:{port}"
        given = _request_id_answered(f"{base}/api/v1/payments?n=1", "req_given_by_client_1")
        made = _request_id_answered(f"{base}/api/v1/payments?n=2")
        # Refused as it could be a card number: the line names the id the application made instead.
        replaced = _request_id_answered(f"{base}/api/v1/payments?n=3", "4242424242424242")
        health = _request_id_answered(f"{base}/healthz")
        _wait_for_lines(log, f'"logger": "{logger}"', 4)
    assert given == "req_given_by_client_1"
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", made_id) for made_id in (made, replaced, health))
    lines = [json.loads(line) for line in log.read_text().splitlines() if f'"logger": "{logger}"' in line]
    assert len(lines) == 4, lines
    by_target = {target_of(line["message"]): line["request_id"] for line in lines}
    assert by_target == {"/api/v1/payments?n=1": given, "/api/v1/payments?n=2": made,
                         "/api/v1/payments?n=3": replaced, "/healthz": health}


def test_make_serve_access_lines_carry_the_request_id_of_their_response(tmp_path):
    """Granian writes an access line after the application returned, when the request's context is unbound; the
    line still names the request by the id its response carries, the caller's or the one the application made."""
    access_lines_by_target(_serve_command, tmp_path, "granian.access", lambda message: message.split()[2])


def test_every_handler_of_the_web_servers_logging_has_the_shared_filters_last():
    """config.serve's handlers take the filters every handler has (config.log_format) from there, the access line's
    own before them: a filter added to the shared list reaches the access log too, and the mask stays last."""
    from config import log_format, serve

    shared = log_format.CONSOLE_HANDLER["filters"]
    assert shared == ["context", "mask_pans"]
    assert {name: handler["filters"] for name, handler in serve.LOGGING["handlers"].items()} == {
        "console": shared, "error_console": shared,
        "access_console": ["query_mark", "response_request_id", *shared]}
