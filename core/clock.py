"""The time, asked for in one place so tests and `run_billing --now` can move it."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_override: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("bo_clock_override", default=None)


def now() -> dt.datetime:
    moment = _override.get()
    return moment if moment is not None else timezone.now()


@contextlib.contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block (this thread/task only), `now()` answers `moment`: for demo history and
    commands that act "as of" a time, without a test-only library in production."""
    token = _override.set(moment)
    try:
        yield moment
    finally:
        _override.reset(token)


def today() -> dt.date:
    return now().date()


def isoformat(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
