"""`manage.py outbox_relay`: hands new events to their subscribers (webhook fan-out) and publishes the
outbox's due rows to the broker, for ever (make run, docker-compose and the Procfile start one;
several may run: rows are taken with SKIP LOCKED)."""

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from core.events import dispatch_pending
from core.outbox import relay_once, run_due_locally


class Command(BaseCommand):
    help = "Relays due outbox rows to the Celery broker (a broker that is down is retried; nothing is lost)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Relay what is due now (every batch), then stop.")
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls when idle.")
        parser.add_argument("--inline", action="store_true",
                            help="Run the tasks in this process instead of publishing them (no worker).")

    def handle(self, *args: Any, once: bool = False, interval: float = 0.5, inline: bool = False,
               **options: Any) -> None:
        stopping: list[bool] = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while not stopping:
            close_old_connections()
            if inline:
                busy = run_due_locally() > 0
            else:
                dispatched = dispatch_pending()
                result = relay_once()
                busy = dispatched > 0 or (result.sent > 0 and result.failed == 0)
            if once and not busy:
                return
            if not busy:
                time.sleep(interval)
