"""core.rawrows.cursor: one cursor kept per connection for hand-written statements, a new one wherever
keeping it could change what a caller sees."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core import rawrows
from tests.concurrency import failures, run_threads

pytestmark = pytest.mark.django_db(transaction=True)


def _value(sql, params=()):
    with rawrows.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchone()[0]


def _kept():
    with rawrows.cursor() as cursor:
        return cursor


def _own_connection():
    # pytest-django's live server (a session fixture, started by the browser tests) shares an in-memory SQLite
    # connection between threads for the rest of the session: there nothing is kept (see the test below).
    if connection.allow_thread_sharing:
        pytest.skip("this connection is shared between threads by a live server: no cursor is kept on it")


def test_a_connection_shared_between_threads_keeps_nothing():
    connection.inc_thread_sharing()
    try:
        assert _kept() is not _kept()
        assert _value("SELECT %s + 2", [2]) == 4
    finally:
        connection.dec_thread_sharing()


def test_one_cursor_serves_statement_after_statement_and_transaction_after_transaction():
    _own_connection()
    first = _kept()
    assert _value("SELECT %s + 1", [1]) == 2
    with transaction.atomic():
        assert _value("SELECT %s + 1", [2]) == 3
    assert _kept() is first


@pytest.mark.postgres  # closing SQLite's in-memory test database is a no-op in Django's tests
def test_a_new_connection_gets_a_new_cursor():
    _own_connection()
    first = _kept()
    connection.close()
    second = _kept()
    assert second is not first
    assert _value("SELECT %s * 2", [21]) == 42


@pytest.mark.postgres  # psycopg's cursor says it is closed; sqlite3's cannot tell (nothing of ours closes it)
def test_a_closed_cursor_is_replaced():
    _own_connection()
    first = _kept()
    first.close()
    assert _kept() is not first
    assert _value("SELECT %s * 3", [5]) == 15


def test_a_changed_time_zone_gets_a_new_cursor(settings):
    _own_connection()
    first = _kept()
    # Django replaces the connection's time zone (a new cursor reads timestamps in it).
    settings.TIME_ZONE, settings.USE_TZ = "Europe/Paris", False
    second = _kept()
    assert second is not first
    assert _kept() is second


def test_a_block_inside_another_gets_its_own_cursor_and_leaves_the_outer_rows_alone():
    _own_connection()
    with rawrows.cursor() as outer:
        outer.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
        assert outer.fetchone() == (1,)
        with rawrows.cursor() as inner:
            assert inner is not outer
            inner.execute("SELECT 10")
            assert inner.fetchone() == (10,)
        assert outer.fetchall() == [(2,), (3,)]
    assert _kept() is outer


def test_execute_wrappers_apply_to_the_kept_cursor():
    _kept()
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        _value("SELECT 7")
    assert seen == ["SELECT 7"]


def test_a_logging_connection_gets_a_logging_cursor():
    kept = _kept()
    with CaptureQueriesContext(connection) as queries:
        with rawrows.cursor() as cursor:
            assert cursor is not kept
            cursor.execute("SELECT 8")
    assert [query["sql"] for query in queries.captured_queries] == ["SELECT 8"]


def test_the_cursor_works_after_a_failed_statement_rolled_back():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE kept_probe (n integer PRIMARY KEY)")
    try:
        _value("INSERT INTO kept_probe (n) VALUES (1) RETURNING n")
        with pytest.raises(IntegrityError), transaction.atomic():
            _value("INSERT INTO kept_probe (n) VALUES (1) RETURNING n")
        assert _value("SELECT count(*) FROM kept_probe") == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE kept_probe")


def test_each_thread_keeps_its_own():
    # Each thread holds its cursor until all have taken theirs, so no two can be the same object by reuse.
    taken = threading.Barrier(3)

    def keep(i):
        cursor, value = _kept(), _value("SELECT %s", [i])
        taken.wait()
        return cursor, value

    outcomes = run_threads(3, keep)
    assert failures(outcomes) == []
    assert [value for _, value in outcomes] == [0, 1, 2]
    assert len({id(cursor) for cursor, _ in outcomes}) == 3
