"""Values derived from rows that change rarely (an API key and its owner's permissions, approval
thresholds), read on every request: kept in the cache and invalidated when the rows change.

With a shared cache (Redis) an entry is stored with the namespace's version and a change replaces
the version once its transaction commits, so every process sees it on its next read: one cache
round trip (the version, and the entry too unless this process keeps a copy) instead of SQL. Within
a request (`request_scope`, bound by core.middleware) that one round trip reads every namespace's
version at once, and the entries come from this process's own copy while their version stands: one
round trip per request for the API key, the approval thresholds and the risk settings together.
With the per-process default cache (LocMem, the quick start's SQLite setup) another process cannot
hear of a change, so entries live at most `SNAPSHOT_LOCAL_SECONDS` (5 s): that is how long a
revoked key can keep working there.

Which cache: this one where a change must reach every process at once when Redis is there (a revoked
key, a removed permission, a new approval threshold); `core.localcache` for settings a few seconds of
staleness cannot hurt (fee schedules, routing), where a cache round trip would cost more than it saves.

Invalidation runs on commit: bumped earlier, a request between the bump and the commit could read
the old rows and store them under the new version. Inside a transaction the cache is not used at
all: the transaction may have changed the rows itself (and may yet roll back), so it reads them.
"""

from __future__ import annotations

import io
import pickle
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from . import rawrows

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
        if rawrows.wrapper().in_atomic_block:
            return load()
        entry_key = self._entry_key(key)
        kept = _kept.get(entry_key)
        if kept is not None and time.time() >= kept.until:
            kept = None
        # With a copy kept here, the round trip reads the versions only: the entry (an API key with its owner's
        # permissions is ~14 KB pickled) is read only when the copy turns out stale.
        version, found = _versions(self, entry_key if kept is None else None)
        if kept is not None and kept.version == version and time.time() < kept.until:  # the round trip took time
            return cast(T, _copy(kept))
        entry = found.get(entry_key, _MISSING) if found is not None and kept is None else cache.get(entry_key, _MISSING)
        if isinstance(entry, tuple) and len(entry) == 3 and entry[0] == version:
            _keep(entry_key, version, entry[1], until=entry[2] + self._timeout())
            return cast(T, entry[1])
        # The version was read before the rows: a change committed meanwhile replaced it, so what
        # is stored now is stale at once rather than for the entry's lifetime.
        value = load()
        if value is not None:  # nothing is kept for what does not exist (unknown keys cost a query)
            loaded_at = time.time()  # the wall clock: every process that keeps a copy counts from it
            cache.set(entry_key, (version, value, loaded_at), timeout=self._timeout())
            _keep(entry_key, version, value, until=loaded_at + self._timeout())
        return value

    def _new_version(self) -> int:
        version = _random_version()
        # `add`: two processes starting at once keep one version, not overwrite each other's.
        if not cache.add(self._version_key, version, timeout=None):
            version = cache.get(self._version_key, version)
        return version

    def invalidate(self) -> None:
        transaction.on_commit(self._bump, robust=False)

    def _bump(self) -> None:
        version = _random_version()
        cache.set(self._version_key, version, timeout=None)
        scope = _scope.get()
        if scope is not None and scope.values is not None:
            scope.values[self._version_key] = version  # the rest of this request reads what it just changed

    def forget(self, key: str) -> None:
        """Drops one entry now (not versioned): for a value that only its own writer changes. Other processes'
        own copies live out their `SNAPSHOT_SHARED_SECONDS`."""
        cache.delete(self._entry_key(key))
        _kept.pop(self._entry_key(key), None)


class _Scope:
    """The namespaces' versions as one request read them, and when."""

    def __init__(self) -> None:
        self.values: dict[str, int] | None = None
        self.read_at = 0.0


_scope: ContextVar[_Scope | None] = ContextVar("snapshot_scope", default=None)


class _Kept(NamedTuple):
    version: int
    until: float
    pickled: bytes
    shared: tuple[frozenset[Any], ...]  # the frozensets the pickle refers to by position


# Entries this process has read, pickled (each read gets its own copy, as from the cache), by entry key, with the
# wall-clock time their cache entry expires (its load + the timeout): a change whose new version never reached the
# cache (Redis down at that moment: its errors are ignored), a version brought back by a restored or failed-over
# Redis, or a change made without a signal reaches this process within that bound, as when every read went to the
# cache. The wall clock because every process counts from the same load.
_kept: dict[str, _Kept] = {}
_KEPT_MAX = 10_000


def _random_version() -> int:
    # A number, not text: the cache stores integers as they are and reads them back without unpickling.
    return secrets.randbits(62)


def _keep(entry_key: str, version: int, value: Any, *, until: float) -> None:
    if len(_kept) >= _KEPT_MAX:
        _kept.clear()  # a crude bound: a process reading this many entries reads them again from the cache
    buffer = io.BytesIO()
    shared: list[frozenset[Any]] = []

    def shared_id(obj: Any) -> int | None:
        # Only frozensets of values that cannot change either (a frozenset of model instances is not frozen).
        if type(obj) is frozenset and all(type(item) in _IMMUTABLE for item in obj):
            shared.append(obj)
            return len(shared) - 1
        return None

    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = shared_id  # type: ignore[method-assign]
    pickler.dump(value)
    _kept[entry_key] = _Kept(version, until, buffer.getvalue(), tuple(shared))


_IMMUTABLE = frozenset({str, int, float, bool, bytes, type(None)})


def _copy(kept: _Kept) -> Any:
    """A new copy of a kept value, but for its frozensets, which cannot change and so are shared between copies
    rather than built again (a key owner's few hundred permissions, on every request)."""
    unpickler = pickle.Unpickler(io.BytesIO(kept.pickled))
    unpickler.persistent_load = kept.shared.__getitem__  # type: ignore[method-assign]
    return unpickler.load()


@contextmanager
def request_scope() -> Iterator[None]:
    """Within it (one request: core.middleware), every namespace's version is read once (with the first entry
    read, where this process keeps no copy of it), and for at most `SNAPSHOT_SCOPE_SECONDS`: one cache round trip
    for the API key, the approval thresholds and the risk settings together, instead of one each."""
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


def _versions(snapshots: Snapshots, entry_key: str | None) -> tuple[int, dict[str, Any] | None]:
    """This namespace's version and, when it took a round trip, what else that read (the entry among it, if one is
    asked for)."""
    scope = _scope.get()
    now = time.monotonic()
    if scope is not None and scope.values is not None and now - scope.read_at <= settings.SNAPSHOT_SCOPE_SECONDS:
        version = scope.values.get(snapshots._version_key)
        if version is not None:
            return version, None
    keys = [s._version_key for s in _namespaces] if scope is not None else [snapshots._version_key]
    found = cache.get_many([*keys, entry_key] if entry_key is not None else keys)
    if scope is not None:
        scope.values = {key: found[key] for key in keys if key in found}
        scope.read_at = now
    version = found.get(snapshots._version_key)
    if version is None:
        version = snapshots._new_version()
        if scope is not None and scope.values is not None:
            scope.values[snapshots._version_key] = version
    return version, found


def invalidating(snapshots: Snapshots) -> Callable[..., Any]:
    """A signal receiver that invalidates `snapshots` (connect with `weak=False`)."""

    def receiver(*args: Any, **kwargs: Any) -> None:
        snapshots.invalidate()

    return receiver


def invalidate_all_now() -> None:
    """Every namespace stale at once: for tests, whose database is emptied without any signal."""
    for snapshots in _namespaces:
        snapshots._bump()
