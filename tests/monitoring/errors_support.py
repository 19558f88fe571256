"""Shared by the error log tests: the configured handler on the root logger (test settings leave it
off, so the rest of the suite records nothing), and a clean per-thread state."""

import logging
import logging.config

import pytest
from django.conf import settings

from monitoring import errorlog


def configured_handler() -> logging.Handler:
    config = dict(settings.LOGGING["handlers"]["errorlog"])
    factory = config.pop("()")
    assert factory == "monitoring.errorlog_handler.ErrorLogHandler"
    level = config.pop("level")
    handler = errorlog.ErrorLogHandler()
    handler.setLevel(level)
    return handler


@pytest.fixture(autouse=True)
def _errorlog_handler():
    """Autouse in each module that imports it."""
    root = logging.getLogger()
    handler = configured_handler()
    root.handlers.insert(0, handler)
    errorlog._state.pending.clear()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        errorlog._state.pending.clear()
        errorlog._state.busy = False
