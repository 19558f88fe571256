"""Values derived from rows that change rarely (an API key and its owner's permissions, approval
thresholds), read on every request: kept in the cache and invalidated when the rows change.

With a shared cache (Redis) an entry is stored with the namespace's version and a change replaces
the version once its transaction commits, so every process sees it on its next read: one cache
round trip (version and entry together) instead of SQL. With the per-process default cache
(LocMem, the quick start's SQLite setup) another process cannot hear of a change, so entries live
at most `SNAPSHOT_LOCAL_SECONDS` (5 s): that is how long a revoked key can keep working there.

Which cache: this one where a change must reach every process at once when Redis is there (a revoked
key, a removed permission, a new approval threshold); `core.localcache` for settings a few seconds of
staleness cannot hurt (fee schedules, routing), where a cache round trip would cost more than it saves.

Invalidation runs on commit: bumped earlier, a request between the bump and the commit could read
the old rows and store them under the new version. Inside a transaction the cache is not used at
all: the transaction may have changed the rows itself (and may yet roll back), so it reads them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

T = TypeVar("T")
_MISSING = object()
_namespaces: list[Snapshots] = []


def shared_cache() -> bool:
    """Whether the default cache is one that every process reads (not a per-process LocMem)."""
    backend: str = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(("LocMemCache", "DummyCache"))


class Snapshots:
    """`get(key, load)`: the cached value or `load()`'s (stored unless None); `invalidate()`: every
    entry of the namespace is stale once the transaction commits."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._version_key = f"snap:{namespace}:version"
        _namespaces.append(self)

    def _entry_key(self, key: str) -> str:
        return f"snap:{self.namespace}:{key}"

    def _timeout(self) -> int:
        if shared_cache():
            return int(settings.SNAPSHOT_SHARED_SECONDS)
        return int(settings.SNAPSHOT_LOCAL_SECONDS)

    def get(self, key: str, load: Callable[[], T]) -> T:
        if connection.in_atomic_block:
            return load()
        entry_key = self._entry_key(key)
        found = cache.get_many([self._version_key, entry_key])
        version = found.get(self._version_key)
        if version is None:
            version = secrets.token_hex(8)
            # `add`: two processes starting at once keep one version, not overwrite each other's.
            if not cache.add(self._version_key, version, timeout=None):
                version = cache.get(self._version_key, version)
        entry = found.get(entry_key, _MISSING)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == version:
            return cast(T, entry[1])
        # The version was read before the rows: a change committed meanwhile replaced it, so what
        # is stored now is stale at once rather than for the entry's lifetime.
        value = load()
        if value is not None:  # nothing is kept for what does not exist (unknown keys cost a query)
            cache.set(entry_key, (version, value), timeout=self._timeout())
        return value

    def invalidate(self) -> None:
        transaction.on_commit(self._bump, robust=False)

    def _bump(self) -> None:
        cache.set(self._version_key, secrets.token_hex(8), timeout=None)

    def forget(self, key: str) -> None:
        """Drops one entry now (not versioned): for a value that only its own writer changes."""
        cache.delete(self._entry_key(key))


def invalidating(snapshots: Snapshots) -> Callable[..., Any]:
    """A signal receiver that invalidates `snapshots` (connect with `weak=False`)."""

    def receiver(*args: Any, **kwargs: Any) -> None:
        snapshots.invalidate()

    return receiver


def invalidate_all_now() -> None:
    """Every namespace stale at once: for tests, whose database is emptied without any signal."""
    for snapshots in _namespaces:
        snapshots._bump()
