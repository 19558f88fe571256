"""Where the error log hooks into Django and Celery (connected from MonitoringConfig.ready())."""

from __future__ import annotations

from celery.signals import task_postrun
from django.core.signals import got_request_exception, request_finished

from . import errorlog


def connect_errorlog() -> None:
    # Unhandled exceptions of views outside /api/ (the API's are logged, with their request, by
    # core.api / core.middleware, and reach errorlog.ErrorLogHandler).
    got_request_exception.connect(errorlog.on_request_exception, dispatch_uid="monitoring.errorlog.exception")
    # What waited for a transaction that rolled back is written once the request or task is over.
    request_finished.connect(errorlog.on_boundary, dispatch_uid="monitoring.errorlog.request_finished")
    task_postrun.connect(errorlog.on_boundary, dispatch_uid="monitoring.errorlog.task_postrun", weak=False)
