"""The transactional outbox: Celery work recorded in the transaction of the change that causes it.

`enqueue(task, ..., at=)` inserts a row inside the caller's transaction, so the work exists exactly
when the change does (an `on_commit(... .delay())` is lost when the broker is down at that moment).
`relay_once` publishes due rows to the broker under `SELECT ... FOR UPDATE SKIP LOCKED` (several
relays share the table without sending a row twice) and marks them sent; a publish that fails
leaves the row due again after a short pause and stops the batch (the broker is down: later rows
would fail too). Publishing is at-least-once: tasks are written to run twice harmlessly.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from kombu.exceptions import KombuError

from . import clock
from .db import require_transaction, update_rows
from .models import OutboxMessage

logger = logging.getLogger("core.outbox")
BATCH = 200
# A row whose publish failed waits this long times its attempts, capped: the broker is usually
# back within seconds, and a relay must not spin on it.
RETRY_STEP = dt.timedelta(seconds=2)
RETRY_CAP = dt.timedelta(seconds=60)


def enqueue(task: str, *args: Any, at: dt.datetime | None = None, **kwargs: Any) -> OutboxMessage:
    """Records `task(*args, **kwargs)` to be sent to the broker after commit (at `at` or now)."""
    require_transaction()
    now = clock.now()
    message = OutboxMessage(task=task, args=list(args), kwargs=kwargs, created=now, next_attempt_at=at or now)
    message.save(force_insert=True)
    return message


def enqueue_many(task: str, calls: list[tuple[Any, ...]]) -> list[OutboxMessage]:
    """`enqueue(task, *args)` for each args tuple of `calls`, due now, in one statement."""
    require_transaction()
    now = clock.now()
    return OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task, args=list(args), kwargs={}, created=now, next_attempt_at=now) for args in calls])


def cancel(message_id: int | None) -> None:
    """Drops a message not yet sent (a scheduled retry that is no longer needed)."""
    require_transaction()
    if message_id:
        OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).delete()


class RelayResult(NamedTuple):
    sent: int
    failed: int


def celery_publisher(app: Any = None) -> Callable[[OutboxMessage], None]:
    """Publishes to the broker of `app` (the project's Celery app by default), without Celery's own
    publish retries: a broker that is down answers at once and the row waits in the table instead."""
    if app is None:
        from celery import current_app as app

    def publish(message: OutboxMessage) -> None:
        app.send_task(message.task, args=message.args, kwargs=message.kwargs, retry=False,
                      task_id=f"outbox-{message.pk}-{message.attempts}")

    publish.errors = _broker_errors(app)  # type: ignore[attr-defined]
    return publish


def _broker_errors(app: Any) -> tuple[type[BaseException], ...]:
    conn = app.connection_for_write()
    try:
        return tuple({OSError, KombuError, *conn.connection_errors, *conn.channel_errors})
    finally:
        conn.release()


def relay_once(*, publish: Callable[[OutboxMessage], None] | None = None, batch: int = BATCH) -> RelayResult:
    """Publishes the due messages of one batch; returns how many were sent and failed."""
    publish = publish or celery_publisher()
    errors = getattr(publish, "errors", (OSError, KombuError))
    now = clock.now()
    sent = failed = 0
    with transaction.atomic():
        rows = list(OutboxMessage.objects.select_for_update(skip_locked=True)
                    .filter(sent_at__isnull=True, next_attempt_at__lte=now).order_by("next_attempt_at", "pk")[:batch])
        done = []
        for row in rows:
            try:
                publish(row)
            except errors as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                row.next_attempt_at = now + min(RETRY_STEP * row.attempts, RETRY_CAP)
                logger.warning("outbox publish failed; will retry", extra={"outbox_id": row.pk, "task": row.task,
                                                                         "error": row.last_error})
                update_rows(OutboxMessage, [row], ["attempts", "last_error", "next_attempt_at"])
                failed += 1
                break
            row.sent_at = now
            done.append(row)
            sent += 1
        update_rows(OutboxMessage, done, ["sent_at"])
    return RelayResult(sent, failed)


def run_due_locally() -> int:
    """Runs every due message in this process instead of publishing it (tests, `outbox_relay --inline`
    on a machine without a worker, `seed_demo` after each app's part): marked sent and committed first, then run,
    as a worker would."""
    from .events import dispatch_pending

    total = 0
    while True:
        while dispatch_pending():
            pass
        taken: list[OutboxMessage] = []
        relay_once(publish=taken.append)
        if not taken:
            return total
        from celery import current_app

        for message in taken:
            current_app.tasks[message.task].apply(args=message.args, kwargs=message.kwargs, throw=True)
        total += len(taken)


def purge_sent(before: dt.datetime) -> int:
    return OutboxMessage.objects.filter(sent_at__lt=before).delete()[0]


def retention_cutoff() -> dt.datetime:
    return clock.now() - dt.timedelta(days=settings.EVENT_RETENTION_DAYS)
