"""Per-process caches of rows that change rarely (settings rows staff edit, statistics read per
interval), so the hot paths do not read them on every request.

A `LocalCache` keeps each value at most `seconds` (of the core clock, so tests move it with
`clock.frozen_at`): that is the bound within which a change made by another process applies here.
The process that makes the change clears the cache itself (`clear()`, from a model signal and again
once the transaction commits), so it applies there to the next request. Nothing is shared between
processes: Django's cache is locmem per process unless REDIS_URL is set, and a version counter in it
would cost a round trip per request where Redis is used and prove nothing where it is not. (What must
stop working everywhere at once, such as a revoked API key, uses `core.snapshots` instead.)
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.db import transaction

from core import clock

V = TypeVar("V")

_ALL: list[LocalCache[Any]] = []


class LocalCache(Generic[V]):
    def __init__(self, name: str, *, seconds: float | Callable[[], float] | None) -> None:
        """`seconds=None`: kept until cleared (values that never change once they exist)."""
        self.name = name
        self._seconds = seconds
        self._values: dict[Hashable, tuple[dt.datetime, V]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def seconds(self) -> float | None:
        return self._seconds() if callable(self._seconds) else self._seconds

    def peek(self, key: Hashable) -> tuple[bool, V | None]:
        """(True, the value kept for `key`) if it is still valid, else (False, None); nothing is loaded."""
        kept = self._values.get(key)
        if kept is None:
            return False, None
        seconds, now = self.seconds(), clock.now()
        # A clock moved back (a frozen test clock, a wall-clock step) counts as expired too.
        if seconds is None or kept[0] <= now < kept[0] + dt.timedelta(seconds=seconds):
            return True, kept[1]
        return False, None

    def put(self, key: Hashable, value: V, *, read_at: dt.datetime | None = None) -> None:
        """Keeps `value`, counted from `read_at` (when it was read; default now)."""
        with self._lock:
            self._values[key] = (read_at or clock.now(), value)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The value kept for `key` if it was loaded less than `seconds` ago, else `load()` (kept)."""
        found, kept = self.peek(key)
        if found:
            return kept  # type: ignore[return-value]  # a kept value is a V (None when V allows it)
        read_at = clock.now()
        value = load()
        self.put(key, value, read_at=read_at)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def clear_now_and_on_commit(self) -> None:
        """For a change being saved: cleared now (the saving transaction reads the new rows) and
        again after the commit (a request that read the old rows meanwhile does not keep them)."""
        self.clear()
        transaction.on_commit(self.clear)


def clear_all() -> None:
    """Every cache of this process (tests, between cases: their rows were rolled back)."""
    for cache in _ALL:
        cache.clear()
