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


def duration_text(seconds: float) -> str:
    """An age as a person reads it: 45 s, 12 min, 5 h 3 min, 269 d 4 h (the dashboards' and alerts' one way)."""
    whole = int(round(seconds))
    if whole < 120:
        return f"{whole} s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if whole < 3600:
        return f"{minutes} min"
    if whole < 86400:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"
