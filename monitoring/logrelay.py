"""The request log's writer in a process of its own, run at idle priority, beside the production web server.

Redacting a logged request and inserting its row costs ~5-8 % of a REST transfer's CPU (docs/PERFORMANCE.md).
Done by a thread inside each web worker, that CPU competes with the requests at the same priority, and on a busy
box it is the margin between meeting the latency goals and not (the 400 transfers/s step met its p95 with the log
off and missed it with the log on). The rows are not needed within the second, so `config.serve` starts one
`requestlog_writer` process (`SCHED_IDLE`: it runs when a core would otherwise idle) and points the workers at it
(`REQUEST_LOG_RELAY`, a Unix socket in a directory only this user can enter). A worker's background thread then
only pickles its captured batch onto the socket; the writer process redacts and inserts it (`requestlog.write`).
The raw entries stay in memory, as before: in a kernel buffer or this process, never on disk or in Redis.

Without the variable (`make run`, tests, a server started some other way) a worker writes its own rows, as
before. A worker that flushes before the writer process listens waits for its socket (once, at most
`STARTUP_WAIT_SECONDS`); when the writer cannot be reached, a worker writes the batch itself and says so. On a box busy
every moment, the writer falls behind and its socket's buffer fills: a worker whose batch has waited
`SEND_TIMEOUT_SECONDS` to go writes it itself (the writer drops the part of a frame it got), so the log then costs
what it cost before, and is not lost.

Frames: a 4-byte length, then a pickled list of `requestlog.Entry`. Pickle, because only this user's processes
can reach the socket, and they can run anything already.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger("monitoring.requestlog")

ENVIRONMENT_VARIABLE = "REQUEST_LOG_RELAY"
_LENGTH = struct.Struct("!I")
MAX_FRAME_BYTES = 256 * 1024 * 1024  # a batch of 200 entries with both bodies at their bound is ~7 MB
SEND_TIMEOUT_SECONDS = 10.0
# The writer process loads Django as the workers do, and may be slower to listen than a worker is to flush.
STARTUP_WAIT_SECONDS = 30.0


class RelayUnavailable(Exception):
    """The batch was not handed over (nothing of it reached the writer process)."""


class RelayClient:
    """One connection per process to the writer process's socket, opened at the first batch (and again after a
    fork or a failure)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._socket: socket.socket | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._waited_for_writer = False

    def send(self, entries: Sequence[Any]) -> None:
        """Hands the entries over in one frame, or raises RelayUnavailable having sent none of it."""
        try:
            payload = pickle.dumps(list(entries), pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            # A value in an entry that cannot be pickled: the worker writes the batch, which only needs its JSON.
            raise RelayUnavailable(f"a batch that cannot be pickled: {exc}") from exc
        if len(payload) > MAX_FRAME_BYTES:
            raise RelayUnavailable(f"a batch of {len(payload)} bytes is larger than a frame may be")
        frame = _LENGTH.pack(len(payload)) + payload
        with self._lock:
            try:
                self._connected().sendall(frame)
            except OSError as exc:
                # A frame cut short would be read as garbage: the writer drops a connection that ends mid-frame.
                self._close()
                raise RelayUnavailable(f"the request log's writer process at {self.path}: {exc}") from exc

    def _connected(self) -> socket.socket:
        if self._socket is None or self._pid != os.getpid():
            self._socket = None  # a forked copy of the parent's socket is the parent's: a worker opens its own
            self._wait_for_writer()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(SEND_TIMEOUT_SECONDS)
            try:
                sock.connect(self.path)
            except OSError:
                sock.close()
                raise
            self._socket, self._pid = sock, os.getpid()
        return self._socket

    def _wait_for_writer(self) -> None:
        """Once per process (this runs on the worker's log thread, not a request's): a socket that is not there
        yet is a writer still starting. One that is there and refuses is a writer gone: no wait for that."""
        if self._waited_for_writer:
            return
        self._waited_for_writer = True
        deadline = time.monotonic() + STARTUP_WAIT_SECONDS
        while not os.path.exists(self.path) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._socket is not None and self._pid == os.getpid():
            self._socket.close()
        self._socket = None


def _receive_exactly(conn: socket.socket, size: int) -> bytes | None:
    """`size` bytes, or None where the peer closed first (at a frame's boundary: its normal end)."""
    chunks, remaining = [], size
    while remaining:
        chunk = conn.recv(min(remaining, 1 << 20))
        if not chunk:
            if remaining != size:
                raise ConnectionError(f"the connection ended {remaining} bytes before its frame did")
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_frames(conn: socket.socket, write: Callable[[list[Any]], int], count: Callable[[int, int], None]) -> None:
    while True:
        header = _receive_exactly(conn, _LENGTH.size)
        if header is None:
            return
        (length,) = _LENGTH.unpack(header)
        if length > MAX_FRAME_BYTES:
            raise ConnectionError(f"a frame of {length} bytes announced; at most {MAX_FRAME_BYTES}")
        payload = _receive_exactly(conn, length)
        if payload is None:
            raise ConnectionError("the connection ended before its frame did")
        entries = pickle.loads(payload)  # noqa: S301  # only this user's processes reach the socket (module docstring)
        count(len(entries), write(entries))


class RelayServer:
    """Accepts the workers' connections on `path` and writes each frame's entries with `write` (a thread per
    connection: a handful of workers, each sending a frame a second)."""

    def __init__(self, path: str, write: Callable[[list[Any]], int],
                 on_connection_end: Callable[[], None] = lambda: None) -> None:
        self.path = path
        self.write = write
        self.on_connection_end = on_connection_end
        self.counts = {"received": 0, "written": 0}
        self._counts_lock = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The socket file appears at bind, but connections are refused until listen; a worker waiting for the file
        # (RelayClient._wait_for_writer) would take that gap for a writer gone. Bound under another name and
        # renamed once listening, the path exists only when it accepts.
        starting = f"{path}.starting"
        self._listener.bind(starting)
        self._listener.listen(64)
        # A hard link fails where `path` exists (as bind did): a running writer's socket is never replaced.
        os.link(starting, path)
        os.unlink(starting)
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()  # the accept thread and `stop` both start connection threads
        self._stopping = threading.Event()
        self._accepting: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Accepts until `stop` closes the listener."""
        self._accepting = threading.current_thread()
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                raise
            self._serve_in_thread(conn)

    def _serve_in_thread(self, conn: socket.socket) -> None:
        thread = threading.Thread(target=self._serve_connection, args=(conn,), name="request-log-relay", daemon=True)
        with self._threads_lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _serve_connection(self, conn: socket.socket) -> None:
        try:
            with conn:
                _read_frames(conn, self.write, self._count)
        except Exception:  # noqa: BLE001  # one worker's bad connection must not stop the others'; it is reported
            logger.exception("request log relay: a worker's connection failed; its unread entries are lost")
        finally:
            self.on_connection_end()

    def _count(self, received: int, written: int) -> None:
        with self._counts_lock:
            self.counts["received"] += received
            self.counts["written"] += written

    def stop(self, drain_seconds: float) -> None:
        """Stops accepting, then waits (at most `drain_seconds`) for the workers' connections to end: a stopping
        server's workers send their last entries as they exit."""
        self._stopping.set()
        self._accept_waiting()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected: a listening socket on some systems; closing it below is what stops accept
        self._listener.close()
        deadline = time.monotonic() + drain_seconds
        # A connection the accept thread took just now is served by a thread it is about to start: wait for that.
        if self._accepting is not None and self._accepting is not threading.current_thread():
            self._accepting.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._threads_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        unfinished = sum(thread.is_alive() for thread in threads)
        if unfinished:
            logger.error("request log relay: %d worker connections still open after %g s; their unread entries "
                         "are lost", unfinished, drain_seconds)

    def _accept_waiting(self) -> None:
        """Serves the connections still waiting in the listen backlog. A stopping server's workers connect as they
        exit, their last entries sent into the connection's buffer; the accept thread runs at idle priority and on
        a busy machine may not have taken them yet. Closing the listener would drop them, entries and all, with
        nothing said."""
        self._listener.setblocking(False)
        while True:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(True)
            self._serve_in_thread(conn)
