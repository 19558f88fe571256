"""`manage.py requestlog_writer --socket PATH`: writes the request log rows the web workers hand over on PATH, at
idle priority (monitoring.logrelay). `config.serve` starts one beside granian, with `--until-stdin-closes`, and
points its workers at it; run by hand, it stops on SIGTERM or SIGINT. Either way it first reads what the
connected workers still send (at most `--drain-seconds`)."""

import os
import signal
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from monitoring import logrelay, requestlog


def _write(entries: list[Any]) -> int:
    close_old_connections()  # a connection past CONN_MAX_AGE or broken since the last frame is replaced
    return requestlog.write(entries)


def _close_this_threads_connection() -> None:
    # `connection` is a per-thread proxy: looked up here, in the connection's own thread (a bound `connection.close`
    # taken in the main thread would close the main thread's, and Django refuses that from another thread).
    connection.close()


def _set_at_end_of_input(event: threading.Event) -> None:
    while sys.stdin.buffer.read(65536):
        pass
    event.set()


def lower_priority() -> str:
    """Only a core's idle time: `SCHED_IDLE` where the system has it, else the lowest nice. Set before any thread
    starts: Linux schedules each thread by its own policy, which a new thread takes from the one starting it."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return "SCHED_IDLE"
    except (AttributeError, OSError):
        os.nice(19)
        return f"nice {os.nice(0)}"


class Command(BaseCommand):
    help = "Writes the request log rows the web workers send on a Unix socket (config.serve starts it)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--socket", required=True, help="The Unix socket to listen on (must not exist yet).")
        parser.add_argument("--until-stdin-closes", action="store_true",
                            help="Ignore SIGTERM and SIGINT, stop when standard input ends (the parent's pipe: "
                                 "its workers have stopped, or it died).")
        parser.add_argument("--drain-seconds", type=float, default=10.0,
                            help="How long to wait for connected workers' last entries when stopping.")

    def handle(self, *args: Any, socket: str, until_stdin_closes: bool = False, drain_seconds: float = 10.0,
               **options: Any) -> None:
        priority = lower_priority()
        server = logrelay.RelayServer(socket, _write, on_connection_end=_close_this_threads_connection)
        stop = threading.Event()
        if until_stdin_closes:
            # The process group's SIGTERM or Ctrl-C reaches this process with the server's: its workers send
            # their last entries as they stop, after it.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            threading.Thread(target=_set_at_end_of_input, args=(stop,), name="parent-pipe", daemon=True).start()
        else:
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
        accepting = threading.Thread(target=server.serve_forever, name="request-log-accept", daemon=True)
        accepting.start()
        self.stderr.write(f"request log writer {os.getpid()} listening on {socket} ({priority})")
        stop.wait()
        server.stop(drain_seconds)
        accepting.join(timeout=5)
        self.stderr.write(f"request log writer {os.getpid()} stopped: {server.counts['received']} entries "
                          f"received, {server.counts['written']} rows written")
