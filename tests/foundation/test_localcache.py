"""core.localcache: a value is kept at most `seconds` of the core clock, None included; a clock moved
back expires it; clearing on save happens at once and again once the transaction commits."""

import datetime as dt

import pytest

from core import clock
from core.localcache import LocalCache, clear_all

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def at(seconds):
    return clock.frozen_at(T0 + dt.timedelta(seconds=seconds))


def test_a_value_is_kept_for_its_seconds_only():
    reads = []
    cache = LocalCache("test.kept", seconds=5)

    def load():
        reads.append(len(reads))
        return None if len(reads) == 1 else len(reads)

    with at(0):
        assert cache.get("k", load) is None  # None is a value too (no schedule), kept as such
    with at(4.999):
        assert cache.get("k", load) is None
    with at(5):
        assert cache.get("k", load) == 2
    with at(4):  # the clock moved back: not trusted
        assert cache.get("k", load) == 3
    assert reads == [0, 1, 2]


def test_forever_until_cleared_and_clear_all():
    cache = LocalCache("test.forever", seconds=None)
    with at(0):
        cache.put("k", 1)
    with at(10**6):
        assert cache.peek("k") == (True, 1)
    clear_all()
    assert cache.peek("k") == (False, None)


@pytest.mark.django_db
def test_cleared_now_and_again_on_commit(django_capture_on_commit_callbacks):
    cache = LocalCache("test.commit", seconds=60)
    cache.put("k", "old")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cache.clear_now_and_on_commit()
        assert cache.peek("k") == (False, None)
        cache.put("k", "read meanwhile")  # another request read the old rows before the commit
    for callback in callbacks:
        callback()
    assert cache.peek("k") == (False, None)
