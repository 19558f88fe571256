"""The production web server: granian in WSGI mode, in the shape measured best on 2 cores (2 processes x 2 threads).

`make serve`, the Dockerfile and docker-compose all start it as `python -m config.serve --host H --port P`;
docs/PERFORMANCE.md ("HTTP doors") has the gunicorn/granian rounds that chose it. WebSockets (`/ws/`) stay
with Daphne beside it (`config.daphne`).

Run here rather than from granian's command line, because three things must happen around granian:
- its access and error logs go through our logging (JSON lines, `core.logging.PanMaskingFilter`): an
  access line carries the request's path and query string, where a refused card number would otherwise
  be written as it came;
- prometheus-client's multiprocess directory is set, and emptied, before any worker imports the
  application, so a scrape of any worker reads every worker's request series;
- the WSGI environ does not carry the process environment: granian copies `os.environ` into every
  request's environ, which would put `SECRET_KEY`, the field-encryption keys and the database password in
  every `request.META` (and so in Django's debug page, or any log of a request's META).

A worker's last request metrics are written as it exits by `monitoring.recorder` itself (a
multiprocessing finaliser: granian's workers are forked `multiprocessing` processes, which skip `atexit`).
There is no live gauge (a dead worker's counters and histograms stay meaningful), so nothing needs marking
when a worker dies.
"""

from __future__ import annotations

import argparse
import contextvars
import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from config import log_format

_HANDLER = log_format.CONSOLE_HANDLER
ROOT = Path(__file__).resolve().parents[1]
RELAY_VARIABLE = "REQUEST_LOG_RELAY"  # monitoring.logrelay.ENVIRONMENT_VARIABLE (not imported: no Django here)

# Only dotted names: dictConfig imports them in granian's main process too, which has not set Django up.
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {**log_format.FILTERS, "query_mark": {"()": "config.serve.QueryMarkFilter"},
                "response_request_id": {"()": "config.serve.ResponseRequestIdFilter"}},
    "formatters": dict(log_format.FORMATTERS),
    "handlers": {
        "console": {**_HANDLER, "stream": "ext://sys.stdout"},
        "error_console": {**_HANDLER, "stream": "ext://sys.stderr"},
        # On the handler, not the logger: dictConfig runs again in each forked worker, and adds a logger's
        # filters to those the worker inherited, where handlers are made anew. The access line's own filters
        # first, then every handler's (log_format: the request context, which keeps the response's request id,
        # and the card-number mask, last, once the line is whole).
        "access_console": {**_HANDLER, "filters": ["query_mark", "response_request_id", *_HANDLER["filters"]],
                           "stream": "ext://sys.stdout"},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "granian.access": {"level": "INFO", "handlers": ["access_console"], "propagate": False},
        "_granian": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "config.serve": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
    },
}

# The request line as gunicorn wrote it, query string included (masked like the rest of the line).
ACCESS_FORMAT = '%(addr)s "%(method)s %(path)s%(query_string)s %(protocol)s" %(status)d %(dt_ms).1fms'

_CGI = frozenset({"GATEWAY_INTERFACE", "SCRIPT_NAME", "SERVER_SOFTWARE", "SERVER_NAME", "SERVER_PORT",
                  "SERVER_PROTOCOL", "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE",
                  "CONTENT_LENGTH", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_USER", "HTTPS"})


def _request_may_set(key: str) -> bool:
    """A header or a CGI variable: granian's per-request value replaces the process's, but where the request
    has none (no `Proxy:` header, say) the process's would stay."""
    return key in _CGI or key.startswith(("HTTP_", "wsgi."))


class QueryMarkFilter(logging.Filter):
    """Granian gives an access line the query string without its `?`: put it back where there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict) and args.get("query_string"):
            record.args = {**args, "query_string": "?" + args["query_string"]}
        return True


# The X-Request-ID of the response a worker thread last started. Granian writes a request's access line in the
# thread that ran the application, right after the application returned (granian.wsgi `_logger`), when
# `core.middleware.RequestContextMiddleware` has already unbound the request's context; its log atoms only offer
# request headers (`%(header{x-request-id})s`), which lack the id the application made for a request without one.
_response_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("response_request_id",
                                                                                  default=None)


class ResponseRequestIdFilter(logging.Filter):
    """An access line carries the request id its response was given (and the id is not left for a later line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _response_request_id.get()
        if request_id is not None:
            record.request_id = request_id
            _response_request_id.set(None)
        return True


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_response_request_id(app: WSGIApp) -> WSGIApp:
    """`app`, noting for the access line the X-Request-ID of each response it starts."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        _response_request_id.set(None)

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            for name, value in headers:
                if name.lower() == "x-request-id":
                    _response_request_id.set(value)
                    break
            return start_response(status, headers, *exc_info)

        return app(environ, start)

    return application


def without_process_environment(app: WSGIApp, process: Mapping[str, str]) -> WSGIApp:
    """`app` behind a filter that drops from each environ what came from the process environment `process`: every
    key a request cannot set, and a key it can set where the value is still the process's."""
    always = tuple(key for key in process if not _request_may_set(key))
    unless_set = tuple((key, value) for key, value in process.items() if _request_may_set(key))

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        for key in always:
            environ.pop(key, None)
        for key, value in unless_set:
            if environ.get(key) == value:
                del environ[key]
        return app(environ, start_response)

    return application


def load_application() -> WSGIApp:
    """Granian's target, called in each worker after it started (a SIGTERM before granian's worker sets its own
    handlers, after this returns, stops the worker: `server_class`)."""
    logging.getLogger("config.serve").info("worker %d loading the application (GIL switch interval %g ms)",
                                           os.getpid(), sys.getswitchinterval() * 1000)
    from config.wsgi import application

    freeze_loaded_objects()
    return with_response_request_id(without_process_environment(application, dict(os.environ)))


def freeze_loaded_objects() -> None:
    """What loading made (modules, classes, the URL patterns and every view module they import, settings: ~195 k
    objects the collector tracks) lives as long as the worker; frozen, the collector's full passes walk only what
    requests made since. Unfrozen, each full pass walked all of it, ~140 ms on a 2-core box (docs/PERFORMANCE.md),
    holding the GIL: every request in the worker stood still for it, about once every few thousand requests."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  # imported now, to be frozen, rather than by the first request
    gc.collect()
    gc.freeze()


def server_class() -> type:
    """Granian's server, with its interrupt handler made safe for the workers it forks.

    A forked worker keeps the main process's handler until granian's worker code sets its own, after the seconds
    `load_application` takes to load Django; there the handler only marked the main process's copy of the server,
    so a SIGTERM in that time (a server stopped as it starts) was lost and the worker killed `workers_kill_timeout`
    later ("refused to gracefully stop"). Outside the main process the handler now gives the signal its default:
    the worker, not yet serving, stops."""
    from granian.server import Server

    main_pid = os.getpid()

    class ForkSafeServer(Server):  # type: ignore[misc,valid-type]  # granian picks its class at import
        def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
            if os.getpid() != main_pid:
                signum = args[0] if args else signal.SIGTERM
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            super().signal_handler_interrupt(*args, **kwargs)

    return ForkSafeServer


def prepare_metrics_directory() -> str:
    directory = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bo-prometheus-{os.getpid()}"))
    # Series of an earlier server's workers would be added to this one's.
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)
    return directory


def start_request_log_writer() -> subprocess.Popen[bytes]:
    """The request log's writer process (monitoring.logrelay), and its socket in every worker's environment.

    Its standard input is a pipe from this process: closed once granian has stopped the workers (each having sent
    its last entries), or when this process dies, it tells the writer to finish and stop. Not waited for here: it
    loads Django while granian's workers do, and a worker's log thread that finds no socket yet waits for it."""
    directory = tempfile.mkdtemp(prefix="bo-requestlog-")  # 0700: only this user reaches the socket
    path = os.path.join(directory, "relay.sock")
    env = {key: value for key, value in os.environ.items() if key != RELAY_VARIABLE}
    writer = subprocess.Popen([sys.executable, "manage.py", "requestlog_writer", "--socket", path,
                               "--until-stdin-closes"], cwd=ROOT, env=env, stdin=subprocess.PIPE)
    os.environ[RELAY_VARIABLE] = path  # inherited by the forked workers
    return writer


def stop_request_log_writer(writer: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    path = os.environ.pop(RELAY_VARIABLE, "")
    assert writer.stdin is not None
    writer.stdin.close()
    try:
        writer.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        logging.getLogger("config.serve").error("the request log writer %d did not stop in %g s", writer.pid, timeout)
        writer.kill()
        writer.wait()
    if path:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.serve", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    # One process per core, two threads each: on 2 cores, 4 x 2 cost ~20 % more server CPU per MCP payment at 200/s
    # (more processes' caches and switches for the same cores) and 2 x 3 no less than 2 x 2, while 2 threads per
    # process keep the one-wallet lock holder's wait for the GIL short (docs/PERFORMANCE.md, "Server shape again").
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")),
                        help="processes (WEB_CONCURRENCY, default 2)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")),
                        help="threads running the application in each process (WEB_THREADS, default 2)")
    parser.add_argument("--no-access-log", action="store_true", help="no line per request")
    parser.add_argument("--switch-interval-ms", type=float,
                        default=float(os.environ.get("WEB_SWITCH_INTERVAL_MS", "5")),
                        help="how long a thread may hold the GIL while another waits (WEB_SWITCH_INTERVAL_MS)")
    parser.add_argument("--no-request-log-writer", action="store_true",
                        help="each worker writes its own request log rows (no writer process at idle priority)")
    args = parser.parse_args(argv)
    prepare_metrics_directory()
    # Inherited by the forked workers.
    sys.setswitchinterval(args.switch_interval_ms / 1000)

    writer = None if args.no_request_log_writer else start_request_log_writer()
    try:
        _serve(args)
    finally:
        if writer is not None:
            stop_request_log_writer(writer)


def _serve(args: argparse.Namespace) -> None:
    from granian.constants import Interfaces

    server_class()(
        "config.serve:load_application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        factory=True,
        workers=args.workers,
        blocking_threads=args.threads,
        websockets=False,
        log_dictconfig=LOGGING,
        log_access=not args.no_access_log,
        log_access_format=ACCESS_FORMAT,
        # As gunicorn's arbiter did: a worker that dies is replaced; one that will not stop is killed.
        respawn_failed_workers=True,
        workers_kill_timeout=30,
        # Granian retires a blocking thread idle this long, and its persistent database connection with it; the
        # longest it allows, so that a quiet minute does not cost every thread a new connection.
        blocking_threads_idle_timeout=600,
    ).serve()


if __name__ == "__main__":
    main()
