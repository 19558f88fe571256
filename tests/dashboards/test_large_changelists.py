"""Changelists of the large tables: no `COUNT(*)` over the whole table per page view (the planner's
estimate on PostgreSQL; exact counts when filtered, for small tables and on SQLite), and filter
options read through an index instead of a DISTINCT over every row."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import admin_base
from core.admin_base import EstimatedCountPaginator
from core.models import AuditEvent, Event
from monitoring.models import RequestLog
from payments.models import Payment, Refund
from wallets.models import JournalEntry

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"
FULL_COUNT = re.compile(r'SELECT COUNT\(\*\) AS "__count" FROM "core_event"\s*$')


def make_events(types: list[str]) -> None:
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    Event.objects.bulk_create(
        Event(
            type=t,
            created=at + dt.timedelta(minutes=i),
            object_type="payment",
            object_id=f"pay_{i}",
            data={},
            actor_type="system",
            actor_id="",
            actor_label="tests",
        )
        for i, t in enumerate(types)
    )


@pytest.mark.parametrize("model", [Payment, Refund, Event, AuditEvent, JournalEntry, RequestLog])
def test_large_tables_use_the_estimated_count(model):
    model_admin = admin.site._registry[model]
    assert model_admin.paginator is EstimatedCountPaginator
    assert model_admin.show_full_result_count is False
    assert model_admin.date_hierarchy is None or model is RequestLog  # the request log keeps its own (retention)


def test_paginator_takes_the_estimate_only_unfiltered(monkeypatch):
    make_events(["payment.created"] * 3 + ["refund.created"])
    # A large table, as the planner would say (None: no estimate, as on SQLite).
    monkeypatch.setattr(admin_base, "estimated_rows", lambda model, using: 250_000 if POSTGRES else None)
    unfiltered = EstimatedCountPaginator(Event.objects.order_by("-created"), 100)
    assert unfiltered.count == (250_000 if POSTGRES else 4)
    filtered = EstimatedCountPaginator(Event.objects.filter(type="payment.created").order_by("-created"), 100)
    assert filtered.count == 3  # a filter counts exactly


def test_small_estimate_counts_exactly(monkeypatch):
    make_events(["payment.created"] * 2)
    monkeypatch.setattr(admin_base, "estimated_rows", lambda model, using: 9_999)
    assert EstimatedCountPaginator(Event.objects.all(), 100).count == 2


def test_event_changelist_runs_no_full_count(staff_client, monkeypatch):
    make_events(["payment.created"] * 3 + ["refund.created"] * 2)
    client = staff_client("admin")
    if POSTGRES:
        # Five rows stand for millions: the planner's estimate (pinned here; autovacuum could change the
        # real one meanwhile) is what the page shows.
        monkeypatch.setattr(admin_base, "estimated_rows", lambda model, using: 2_500_000)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/core/event/")
    assert response.status_code == 200
    full_counts = [q["sql"] for q in captured.captured_queries if FULL_COUNT.match(q["sql"])]
    page = response.content.decode()
    if POSTGRES:
        assert full_counts == []
        assert "2500000 events" in page
    else:
        assert len(full_counts) == 1  # SQLite has no estimate: one exact count
        assert "5 events" in page
    # The type filter's options, each a link (read through the (type, created) index on PostgreSQL).
    assert "?type=payment.created" in page and "?type=refund.created" in page
    if POSTGRES:
        assert not any("DISTINCT" in q["sql"] and "core_event" in q["sql"] for q in captured.captured_queries)

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/core/event/?type=refund.created")
    assert response.status_code == 200
    assert "2 events" in response.content.decode()
    assert any(
        q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "core_event" WHERE') for q in captured.captured_queries
    )


@pytest.mark.skipif(not POSTGRES, reason="the planner's estimate is PostgreSQL's")
def test_estimated_rows_reads_the_planner_statistics():
    from monitoring.models import CohortMonth

    make_events(["payment.created"] * 7)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_event")  # a table this small is read whole: the estimate is its count
    assert admin_base.estimated_rows(Event, connection.alias) == Event.objects.count() == 7
    # A table never analyzed has no estimate (reltuples -1): the paginator counts.
    assert admin_base.estimated_rows(CohortMonth, connection.alias) is None
