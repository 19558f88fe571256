"""`rawrows.copy_in`: one COPY on PostgreSQL (an INSERT elsewhere), rows read back as the ORM wrote them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import Event
from core.rawrows import copy_in
from monitoring.models import RequestLog

pytestmark = pytest.mark.django_db

CREATED = dt.datetime(2026, 12, 3, 6, 0, 0, 123456, tzinfo=dt.UTC)


def _row(n: int) -> RequestLog:
    return RequestLog(created=CREATED + dt.timedelta(seconds=n), kind="rest", method="POST",
                      route="POST /api/v1/transfers", path="/api/v1/transfers", status=201 + n, duration_ms=3.25,
                      request_id=f"req_{n}", query={"expand": ["entry"], "n": n},
                      request_body={"amount": "1.00", "tab": "a\tb\\c\nd"}, response_body=[1, None, "é"],
                      request_truncated=bool(n % 2))


def test_rows_are_one_statement_and_read_back_as_given():
    rows = [_row(0), _row(1), _row(2)]
    sent: list[str] = []

    def watch(execute, sql, params, many, context):  # what watches or counts statements sees the COPY too
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        copy_in(rows)
    written = [sql for sql in sent if "monitoring_requestlog" in sql]
    assert len(written) == 1
    assert written[0].startswith("COPY" if connection.vendor == "postgresql" else "INSERT INTO")
    stored = list(RequestLog.objects.order_by("created").values_list(
        "id", "created", "status", "duration_ms", "query", "request_body", "response_body", "request_truncated",
        "response_truncated", "error_code"))
    assert stored == [(row.id, row.created, row.status, 3.25, {"expand": ["entry"], "n": n},
                       {"amount": "1.00", "tab": "a\tb\\c\nd"}, [1, None, "é"], bool(n % 2), False, "")
                      for n, row in enumerate(rows)]
    assert all(not row._state.adding for row in rows)


def test_a_refused_row_writes_none_of_the_batch():
    first, second = _row(0), _row(1)
    second.id = first.id
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_in([first, second])
    assert RequestLog.objects.count() == 0


def test_rows_of_two_models_are_refused_before_anything_is_sent():
    with pytest.raises(TypeError), CaptureQueriesContext(connection) as queries:
        copy_in([_row(0), Event(type="x.y", payload={})])
    assert queries.captured_queries == []
    assert RequestLog.objects.count() == 0
