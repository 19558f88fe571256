"""`ErrorLogHandler`: log records at ERROR and above into the error log (monitoring.errorlog).

A module of its own because logging is configured before Django's apps are loaded (LOGGING names it):
it imports nothing that needs them, and records logged before the apps are ready are left alone.
"""

from __future__ import annotations

import logging

from django.apps import apps


class ErrorLogHandler(logging.Handler):
    """Installed on the root logger in LOGGING, before the console handler (whose card-number filter
    rewrites the record's message template). Never raises; never sees the records it causes."""

    # What it stores is redacted first (monitoring.errorlog: card numbers, secrets, e-mail addresses);
    # the PCI log check reads this.
    masks_card_numbers = True

    def __init__(self, level: int = logging.ERROR) -> None:
        super().__init__(level=level)

    def emit(self, record: logging.LogRecord) -> None:
        if not apps.ready:
            return
        try:
            from . import errorlog

            errorlog.handle_record(record)
        except Exception:  # noqa: BLE001  # the code that logged must never see the error log fail
            return
