"""Per-process request metrics: observed in memory, written once a minute (never a write per request).

`observe(kind, name, duration_ms, status)` adds one REST request or MCP tool call to this process's
aggregate of its minute (a dict and a lock: a few microseconds). A minute is written to
`RequestMetricMinute` once it is over, one row per (minute, kind, name) for this process (`host:pid`),
so processes never contend for a row:

- `MONITORING_METRICS_FLUSH = "background"` (default): a daemon thread writes the minutes that are over,
  woken by the first observation after a minute boundary and by its own timer a few seconds after each
  boundary (an idle process's last minute lands too), and at exit. The request never waits for it.
- `"inline"`: the observation that crosses the boundary writes them itself (tests of the boundary).
- `"off"`: nothing is written automatically (the test settings; `flush()` still writes).

`flush(now=None)` writes every aggregate now (shutdown, tests, the `monitoring.flush_request_metrics`
beat task of a worker process); `flush(now=t)` only the minutes over at `t`. Writing a minute this process
already wrote adds to its row (counts add, histograms add bucket by bucket).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from core import clock
from core.exits import at_exit

from . import latency, prometheus

logger = logging.getLogger("monitoring.recorder")

KINDS = ("rest", "mcp")
# A process that cannot write (database down) keeps at most this many minutes of aggregates; older ones
# are dropped (counted in `dropped_minutes`) rather than growing without bound.
MAX_PENDING_MINUTES = 30
# The background writer wakes this long after each minute boundary when nothing else woke it.
TIMER_DELAY_SECONDS = 2.0


@dataclass
class Aggregate:
    count: int = 0
    errors: int = 0
    client_errors: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    histogram: list[int] = field(default_factory=latency.empty)

    def add(self, duration_ms: float, status: int) -> None:
        self.count += 1
        if status >= 500:
            self.errors += 1
        elif status >= 400:
            self.client_errors += 1
        self.total_ms += duration_ms
        if duration_ms > self.max_ms:
            self.max_ms = duration_ms
        self.histogram[latency.bucket_of(duration_ms)] += 1


Key = tuple[dt.datetime, str, str]

_lock = threading.Lock()
_aggregates: dict[Key, Aggregate] = {}
_latest_minute: dt.datetime | None = None
_wake = threading.Event()
_writer: threading.Thread | None = None
_writer_pid: int | None = None
dropped_minutes = 0


def minute_of(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[-80:]


def _mode() -> str:
    return str(getattr(settings, "MONITORING_METRICS_FLUSH", "background"))


def observe(kind: str, name: str, duration_ms: float, status: int) -> None:
    """One REST request (status: its HTTP status) or MCP tool call (200 ok, 400 refused, 500 unexpected)."""
    global _latest_minute
    if not math.isfinite(duration_ms) or duration_ms < 0:
        duration_ms = 0.0
    minute = minute_of(clock.now())
    key = (minute, kind, name[:200])
    crossed = False
    with _lock:
        aggregate = _aggregates.get(key)
        if aggregate is None:
            aggregate = _aggregates[key] = Aggregate()
        aggregate.add(duration_ms, status)
        if _latest_minute is None or minute > _latest_minute:
            crossed = _latest_minute is not None
            _latest_minute = minute
    prometheus.observe(kind, name, duration_ms, status)
    if crossed:
        _minute_over(minute)


def _minute_over(minute: dt.datetime) -> None:
    mode = _mode()
    if mode == "inline":
        flush(minute)
    elif mode == "background":
        _ensure_writer()
        _wake.set()
    else:
        _drop_old(minute)


def _drop_old(now_minute: dt.datetime) -> None:
    global dropped_minutes
    oldest = now_minute - dt.timedelta(minutes=MAX_PENDING_MINUTES)
    with _lock:
        stale = [key for key in _aggregates if key[0] < oldest]
        dropped_minutes += len({key[0] for key in stale})
        for key in stale:
            del _aggregates[key]


def _take(before: dt.datetime | None) -> dict[Key, Aggregate]:
    with _lock:
        keys = [key for key in _aggregates if before is None or key[0] < before]
        return {key: _aggregates.pop(key) for key in keys}


def _give_back(taken: dict[Key, Aggregate]) -> None:
    """A write that failed: its aggregates wait for the next one (merged with anything observed since)."""
    with _lock:
        for key, aggregate in taken.items():
            current = _aggregates.get(key)
            if current is None:
                _aggregates[key] = aggregate
            else:
                _aggregates[key] = _merged(current, aggregate)


def _merged(a: Aggregate, b: Aggregate) -> Aggregate:
    return Aggregate(count=a.count + b.count, errors=a.errors + b.errors,
                     client_errors=a.client_errors + b.client_errors, total_ms=a.total_ms + b.total_ms,
                     max_ms=max(a.max_ms, b.max_ms), histogram=latency.merge([a.histogram, b.histogram]))


def flush(now: dt.datetime | None = None) -> int:
    """Writes this process's aggregates (all of them, or only the minutes over at `now`); returns rows written."""
    taken = _take(minute_of(now) if now is not None else None)
    if not taken:
        return 0
    from .services_metrics import metric_minutes_merge

    try:
        return metric_minutes_merge(process=process_name(), minutes=taken)
    except Exception:
        _give_back(taken)
        if now is not None:
            _drop_old(minute_of(now))
        raise


def pending() -> dict[Key, Aggregate]:
    """A copy of what this process holds unwritten (admin, tests)."""
    with _lock:
        return {key: _merged(Aggregate(), aggregate) for key, aggregate in _aggregates.items()}


def reset() -> None:
    """Forgets everything held (tests)."""
    global _latest_minute, dropped_minutes
    with _lock:
        _aggregates.clear()
        _latest_minute = None
        dropped_minutes = 0


def _ensure_writer() -> None:
    global _writer, _writer_pid
    pid = os.getpid()
    if _writer is not None and _writer_pid == pid and _writer.is_alive():
        return
    with _lock:
        if _writer is not None and _writer_pid == pid and _writer.is_alive():
            return
        # A forked worker inherits the parent's variables but not its threads: one writer per process.
        _writer = threading.Thread(target=_write_loop, name="monitoring-metrics-writer", daemon=True)
        _writer_pid = pid
        _writer.start()
    _flush_when_exiting()


_flushes_at_exit_in: int | None = None


def _flush_when_exiting() -> None:
    """Once per process: what it holds is written as it exits (a web worker that stops, in any mode but `off`)."""
    global _flushes_at_exit_in
    with _lock:
        if _flushes_at_exit_in == os.getpid():
            return
        _flushes_at_exit_in = os.getpid()
    at_exit(_flush_at_exit)


def start_background_writer() -> None:
    """Called when the middleware is built, in each process (not at import: forks come later): the writer thread
    in `background` mode; in `background` and `inline` modes, the flush at exit."""
    mode = _mode()
    if mode == "background":
        _ensure_writer()
    elif mode == "inline":
        _flush_when_exiting()


def _seconds_to_next_boundary() -> float:
    moment = clock.now()
    return 60.0 - (moment.second + moment.microsecond / 1e6) + TIMER_DELAY_SECONDS


def _write_loop() -> None:
    from django.db import connection

    while True:
        _wake.wait(timeout=_seconds_to_next_boundary())
        _wake.clear()
        try:
            flush(clock.now())
        except Exception:  # noqa: BLE001
            logger.exception("could not write request metrics; kept for the next minute")
        finally:
            connection.close()


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # noqa: BLE001
        logger.warning("request metrics of the last minute were not written at exit", exc_info=True)


def summary_of(aggregates: Iterable[Aggregate]) -> latency.LatencySummary:
    items = list(aggregates)
    return latency.LatencySummary(
        count=sum(a.count for a in items), errors=sum(a.errors for a in items),
        client_errors=sum(a.client_errors for a in items), total_ms=sum(a.total_ms for a in items),
        max_ms=max((a.max_ms for a in items), default=0.0), histogram=latency.merge(a.histogram for a in items))
