"""gunicorn settings for `make serve`: its access and error logs go through our logging.

Every line is a JSON object like the application's own, and passes `core.logging.PanMaskingFilter`:
an access-log line carries the request's path and query string, so a refused card number in a URL
would otherwise be written as it came. Only dotted names here: dictConfig imports them in gunicorn's
master, which has not set Django up.
"""

import os

# The shape measured best for sync Django on 2 cores (docs/PERFORMANCE.md, "HTTP doors"): two processes of
# four threads each, keep-alive kept; sync workers, more processes and granian were no better. `make serve`,
# the Dockerfile and docker-compose all start gunicorn with this file; the environment may resize it.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))

_HANDLER = {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context", "mask_pans"]}

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "core.logging.RequestContextFilter"},
        "mask_pans": {"()": "core.logging.PanMaskingFilter"},
    },
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "console": {**_HANDLER, "stream": "ext://sys.stdout"},
        "error_console": {**_HANDLER, "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
    },
}

# Prometheus multiprocess mode (monitoring/prometheus.py): every worker writes its request series to this
# directory and a scrape of any worker reads them all. Set here, before the workers import the application;
# emptied when the master starts, a dead worker's live gauges dropped.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                               f"bo-prometheus-{os.getpid()}"))


def on_starting(server):
    import shutil

    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    # The last minute of request metrics this worker holds lands before it goes.
    try:
        from monitoring.recorder import flush

        flush()
    except Exception:  # noqa: BLE001
        server.log.warning("request metrics not written at worker exit")
