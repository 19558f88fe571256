"""The request log's writer process (monitoring.logrelay): a worker's batch goes over the socket whole, or is
written by the worker; the process behind `config.serve` writes every row the workers captured, at idle
priority."""

import datetime as dt
import logging
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time

import pytest

from monitoring import logrelay, requestlog
from monitoring.models import RequestLog
from tests.foundation.test_serve_logging import _free_port, _running, _serve_command, _status

MOMENT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _entry(n: int, body: bytes = b'{"card": "4242424242424242", "amount": "1.00"}') -> requestlog.Entry:
    return requestlog.Entry(created=MOMENT, kind="rest", method="POST", route="POST /api/v1/transfers",
                            path="/api/v1/transfers", status=201, duration_ms=1.5, request_id=f"req_{n}",
                            request_raw=body, request_type="application/json")


class _Relay:
    """A RelayServer on a socket in `directory`, its writes recorded (or made by `write`), in a thread."""

    def __init__(self, directory, write=None):
        self.path = str(directory / "relay.sock")
        self.batches: list[list[requestlog.Entry]] = []
        self.ended = threading.Event()

        def record(entries):
            self.batches.append(entries)
            return len(entries)

        self.server = logrelay.RelayServer(self.path, write or record, on_connection_end=self.ended.set)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while sum(map(len, self.batches)) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self):
        if self.server._stopping.is_set():
            return
        self.server.stop(drain_seconds=5)
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


@pytest.fixture
def relay(tmp_path):
    running = _Relay(tmp_path)
    yield running
    running.stop()


def test_batches_arrive_whole_and_in_order(relay):
    client = logrelay.RelayClient(relay.path)
    large = b'{"note": "' + b"x" * 3_000_000 + b'"}'  # a frame read in several pieces
    client.send([_entry(1), _entry(2)])
    client.send([_entry(3, large)])
    client.close()
    relay.wait_for(3)
    assert [[entry.request_id for entry in batch] for batch in relay.batches] == [["req_1", "req_2"], ["req_3"]]
    assert relay.batches[0][0] == _entry(1) and relay.batches[1][0].request_raw == large
    assert relay.server.counts == {"received": 3, "written": 3}


def test_a_connection_cut_mid_frame_writes_nothing_of_that_frame_and_is_reported(relay, caplog):
    client = logrelay.RelayClient(relay.path)
    client.send([_entry(1)])
    client.close()
    relay.wait_for(1)
    with caplog.at_level(logging.ERROR, logger="monitoring.requestlog"), \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.connect(relay.path)
        raw.sendall(struct.pack("!I", 1000) + b"\x80\x05partial")
        raw.close()
        assert relay.ended.wait(5)
        deadline = time.monotonic() + 5
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [batch[0].request_id for batch in relay.batches] == ["req_1"]
    assert [r.getMessage() for r in caplog.records] == [
        "request log relay: a worker's connection failed; its unread entries are lost"]
    assert "ended 991 bytes before its frame did" in caplog.text


def test_a_frame_announced_larger_than_allowed_closes_that_connection(relay, caplog):
    with caplog.at_level(logging.ERROR, logger="monitoring.requestlog"), \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.connect(relay.path)
        raw.sendall(struct.pack("!I", logrelay.MAX_FRAME_BYTES + 1))
        assert relay.ended.wait(5)
        assert raw.recv(1) == b""  # closed by the writer, nothing read further
    assert relay.batches == []
    assert f"a frame of {logrelay.MAX_FRAME_BYTES + 1} bytes announced" in caplog.text


def test_connections_the_accept_thread_has_not_taken_are_read_when_the_server_stops(tmp_path):
    """At shutdown the workers connect and send their last entries as they exit; the writer process runs at idle
    priority and on a busy machine its accept thread may not have run since. Those connections wait in the listen
    backlog, and closing the listener would drop them with their entries (it did, in CI: 5 of 12 rows written)."""
    batches: list[list[requestlog.Entry]] = []
    server = logrelay.RelayServer(str(tmp_path / "relay.sock"), lambda entries: batches.append(entries) or len(entries))
    first, second = logrelay.RelayClient(server.path), logrelay.RelayClient(server.path)
    first.send([_entry(1), _entry(2)])  # accepted by nobody: the accept thread never ran
    second.send([_entry(3)])
    first.close()
    second.close()
    server.stop(drain_seconds=5)
    assert sorted(entry.request_id for batch in batches for entry in batch) == ["req_1", "req_2", "req_3"]
    assert server.counts == {"received": 3, "written": 3}


@pytest.mark.django_db
def test_a_workers_flush_hands_its_batches_over_and_writes_nothing_itself(relay, settings):
    settings.REQUEST_LOG_RELAY = relay.path
    settings.REQUEST_LOG_BATCH_SIZE = 2
    writer = requestlog._Writer()
    writer._pending = [_entry(n) for n in range(5)]
    assert writer.flush() == 5
    writer._relay.close()
    relay.wait_for(5)
    assert [[entry.request_id for entry in batch] for batch in relay.batches] == [
        ["req_0", "req_1"], ["req_2", "req_3"], ["req_4"]]
    assert RequestLog.objects.count() == 0


def test_a_flush_returns_only_once_the_batch_another_thread_is_writing_is_written(monkeypatch):
    """At shutdown (and before a bench reads what the requests wrote) a flush must not return while the writer
    thread still holds a batch it took: the daemon thread dies with the process and its rows with it."""
    writer = requestlog._Writer()
    started, release, written = threading.Event(), threading.Event(), []

    def hand_over(entries):
        started.set()
        release.wait(5)
        written.extend(entry.request_id for entry in entries)
        return len(entries)

    monkeypatch.setattr(writer, "_hand_over", hand_over)
    writer._pending = [_entry(1), _entry(2)]
    in_flight = threading.Thread(target=writer.flush)
    in_flight.start()
    assert started.wait(5)  # the other thread has taken both entries and is writing them
    returned = []
    second = threading.Thread(target=lambda: returned.append(writer.flush()))
    second.start()
    second.join(0.3)
    assert second.is_alive() and returned == []  # waits for the batch in flight
    release.set()
    in_flight.join(5)
    second.join(5)
    assert returned == [0] and written == ["req_1", "req_2"]


@pytest.mark.django_db
def test_without_the_writer_process_a_worker_writes_its_rows_and_says_so_once_a_minute(tmp_path, settings, caplog,
                                                                                        monkeypatch):
    monkeypatch.setattr(logrelay, "STARTUP_WAIT_SECONDS", 0.3)
    settings.REQUEST_LOG_RELAY = str(tmp_path / "nobody-listens.sock")
    writer = requestlog._Writer()
    with caplog.at_level(logging.WARNING, logger="monitoring.requestlog"):
        writer._pending = [_entry(1), _entry(2)]
        began = time.monotonic()
        assert writer.flush() == 2
        assert 0.3 <= time.monotonic() - began < 3  # waited once for a writer that might be starting
        writer._pending = [_entry(3)]
        began = time.monotonic()
        assert writer.flush() == 1
        assert time.monotonic() - began < 0.3  # and not again
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_1", "req_2", "req_3"]
    assert RequestLog.objects.get(request_id="req_1").request_body == {"card": "[REDACTED]", "amount": "1.00"}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and messages[0].endswith(
        "No such file or directory; 1 batches (this one 2 entries) written by this worker instead"), messages


def test_a_worker_that_flushes_before_the_writer_process_listens_waits_for_it(tmp_path):
    path = tmp_path / "relay.sock"
    started: list[_Relay] = []
    timer = threading.Timer(0.5, lambda: started.append(_Relay(tmp_path)))
    timer.start()
    client = logrelay.RelayClient(str(path))
    began = time.monotonic()
    client.send([_entry(1)])
    waited = time.monotonic() - began
    client.close()
    timer.join()
    relay = started[0]
    relay.wait_for(1)
    relay.stop()
    assert 0.4 < waited < 5
    assert [batch[0].request_id for batch in relay.batches] == ["req_1"]


def test_the_socket_path_appears_only_once_the_writer_listens(tmp_path, monkeypatch):
    """Between bind and listen a connection is refused; a worker waiting for the path must never see it then."""
    path = tmp_path / "relay.sock"
    seen_at_listen: list[bool] = []

    class Watched(socket.socket):
        def listen(self, *args):
            seen_at_listen.append(path.exists())
            return super().listen(*args)

    monkeypatch.setattr(logrelay.socket, "socket", Watched)
    server = logrelay.RelayServer(str(path), write=len)
    try:
        assert seen_at_listen == [False]
        assert path.is_socket() and sorted(p.name for p in tmp_path.iterdir()) == ["relay.sock"]
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(path))  # accepted into the backlog: listening under its final name
        client.close()
    finally:
        server.stop(drain_seconds=0)


def test_a_writer_process_gone_is_not_waited_for(relay, monkeypatch):
    relay.stop()  # its socket file stays; nothing accepts on it
    client = logrelay.RelayClient(relay.path)
    began = time.monotonic()
    with pytest.raises(logrelay.RelayUnavailable, match="Connection refused"):
        client.send([_entry(1)])
    assert time.monotonic() - began < 1


def test_a_forked_worker_opens_its_own_connection(relay):
    client = logrelay.RelayClient(relay.path)
    client.send([_entry(1)])
    pid = os.fork()
    if pid == 0:  # the child: the parent's socket is not its to write on
        try:
            client.send([_entry(2)])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    client.send([_entry(3)])
    client.close()
    relay.wait_for(3)
    assert sorted(batch[0].request_id for batch in relay.batches) == ["req_1", "req_2", "req_3"]
    assert len(relay.server._threads) == 2  # the parent's connection and the child's


def _logged(database) -> list[tuple[str, int, str]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT path, status, request_body FROM monitoring_requestlog ORDER BY path").fetchall()


def test_the_server_runs_a_writer_process_at_idle_priority_that_writes_every_logged_request(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    # The settings `make serve` runs with: the request log on, queued by each worker's background thread.
    env.update(DATABASE_URL=f"sqlite:///{database}", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=logrelay_root(), env=env, check=True,
                   timeout=300, capture_output=True)
    port = _free_port()
    log = tmp_path / "serve.log"
    with _running(_serve_command(port), env, log, port):
        paths = [f"/api/v1/payments/pay_{n:04d}" for n in range(12)]
        assert [_status(f"http://127.0.0.1:{port}{path}", timeout=60) for path in paths] == [401] * 12
        writer, socket_path = _writer(log)
        policy = os.sched_getscheduler(writer)
        socket_dir = os.path.dirname(socket_path)
        assert oct(os.stat(socket_dir).st_mode & 0o777) == "0o700"
    assert policy == os.SCHED_IDLE
    assert [path for path, _, _ in _logged(database)] == paths
    text = log.read_text()
    assert f"request log writer {writer} stopped: 12 entries received, 12 rows written" in text, text
    assert "written by this worker instead" not in text and "Traceback" not in text, text
    assert not os.path.exists(socket_dir)


def logrelay_root():
    from config.serve import ROOT

    return ROOT


def _writer(log) -> tuple[int, str]:
    """The writer process's id and socket, from its first line."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if "request log writer " in line and " listening on " in line:
                pid, rest = line.split("request log writer ", 1)[1].split(" listening on ", 1)
                return int(pid), rest.split(" (", 1)[0]
        time.sleep(0.1)
    raise AssertionError(log.read_text())


@pytest.mark.django_db
def test_a_batch_the_writer_process_does_not_take_in_time_is_written_by_the_worker(tmp_path, settings, monkeypatch):
    path = str(tmp_path / "stuck.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stuck:  # listens, never reads: a starved writer
        stuck.bind(path)
        stuck.listen(1)
        monkeypatch.setattr(logrelay, "SEND_TIMEOUT_SECONDS", 0.5)
        settings.REQUEST_LOG_RELAY = path
        writer = requestlog._Writer()
        big = b'{"note": "' + b"x" * 4_000_000 + b'"}'  # more than the socket's buffers hold
        writer._pending = [_entry(1, big), _entry(2)]
        began = time.monotonic()
        assert writer.flush() == 2
        assert time.monotonic() - began < 5
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_1", "req_2"]
    assert writer._relay._socket is None  # dropped: a frame cut short cannot be followed by another


@pytest.mark.django_db
def test_a_batch_that_cannot_be_pickled_is_written_by_the_worker(relay, settings):
    settings.REQUEST_LOG_RELAY = relay.path
    writer = requestlog._Writer()
    odd = _entry(1)
    odd.response_value = {"note": threading.Lock()}  # no pickle for a lock; the row stores its text
    writer._pending = [odd, _entry(2)]
    assert writer.flush() == 2
    assert relay.batches == []
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_1", "req_2"]
