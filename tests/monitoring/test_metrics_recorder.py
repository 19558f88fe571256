"""The request metrics: in memory per process by route pattern, written once a minute, merged on rewrite."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import latency, recorder
from monitoring.models import RequestMetricMinute
from tests.mcp.conftest import McpClient

from .metrics_setup import fresh_metrics  # noqa: F401

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 11, 30, 12, 0, 10, tzinfo=dt.UTC)
MINUTE = NOON.replace(second=0)
WALLET_ROUTE = "GET /api/v1/wallets/<str:wallet_id>"


def test_two_ids_are_one_series_by_route_pattern_and_nothing_is_written_per_request(api, make_wallet):
    first, second = make_wallet("USD"), make_wallet("EUR")
    with time_machine.travel(NOON, tick=False), CaptureQueriesContext(connection) as queries:
        assert api.get(f"/api/v1/wallets/{first.pk}").status_code == 200
        assert api.get(f"/api/v1/wallets/{second.pk}").status_code == 200
        assert api.get("/api/v1/wallets/wal_missing0000000000000").status_code == 404
    assert not [q for q in queries.captured_queries if "monitoring_" in q["sql"]]
    assert RequestMetricMinute.objects.count() == 0
    held = recorder.pending()
    assert [key for key in held if key[1] == "rest"] == [(MINUTE, "rest", WALLET_ROUTE)]
    aggregate = held[(MINUTE, "rest", WALLET_ROUTE)]
    assert (aggregate.count, aggregate.errors, aggregate.client_errors) == (3, 0, 1)
    assert sum(aggregate.histogram) == 3


def test_the_setting_turns_request_metrics_off(api, make_wallet, settings):
    wallet = make_wallet("USD")
    settings.MONITORING_REQUEST_METRICS = False
    assert api.get(f"/api/v1/wallets/{wallet.pk}").status_code == 200
    assert recorder.pending() == {}


def test_a_path_outside_the_api_is_not_measured(client):
    assert client.get("/healthz").status_code == 200
    assert recorder.pending() == {}


def test_flush_writes_one_row_per_minute_and_route_and_merges_a_second_flush():
    with time_machine.travel(NOON, tick=False):
        recorder.observe("rest", "POST /api/v1/transfers", 10.0, 201)
        recorder.observe("rest", "POST /api/v1/transfers", 30.0, 422)
        assert recorder.flush() == 1
        recorder.observe("rest", "POST /api/v1/transfers", 200.0, 500)
        assert recorder.flush() == 1
    assert recorder.flush() == 0
    row = RequestMetricMinute.objects.get()
    assert (row.minute, row.kind, row.name, row.process) == (MINUTE, "rest", "POST /api/v1/transfers",
                                                             recorder.process_name())
    assert (row.count, row.errors, row.client_errors, row.total_ms, row.max_ms) == (3, 1, 1, 240.0, 200.0)
    assert row.histogram == latency.histogram_of([10.0, 30.0, 200.0])


def test_flush_at_a_time_writes_only_the_minutes_that_are_over():
    with time_machine.travel(NOON, tick=False):
        recorder.observe("mcp", "get_wallet", 5.0, 200)
    with time_machine.travel(NOON + dt.timedelta(minutes=1), tick=False):
        recorder.observe("mcp", "get_wallet", 7.0, 400)
        assert recorder.flush(NOON + dt.timedelta(minutes=1)) == 1
    assert list(RequestMetricMinute.objects.values_list("minute", "count", "client_errors")) == [(MINUTE, 1, 0)]
    assert list(recorder.pending()) == [(MINUTE + dt.timedelta(minutes=1), "mcp", "get_wallet")]


def test_inline_mode_writes_the_minute_that_is_over_on_the_next_observation(settings):
    settings.MONITORING_METRICS_FLUSH = "inline"
    with time_machine.travel(NOON, tick=False):
        recorder.observe("rest", "GET /api/v1/wallets", 4.0, 200)
        recorder.observe("rest", "GET /api/v1/wallets", 6.0, 200)
    assert RequestMetricMinute.objects.count() == 0
    with time_machine.travel(NOON + dt.timedelta(seconds=45), tick=False):
        recorder.observe("rest", "GET /api/v1/wallets", 8.0, 200)
    with CaptureQueriesContext(connection) as queries, \
            time_machine.travel(NOON + dt.timedelta(seconds=60), tick=False):
        recorder.observe("rest", "GET /api/v1/wallets", 9.0, 503)
    assert any("monitoring_requestmetricminute" in q["sql"] for q in queries.captured_queries)
    row = RequestMetricMinute.objects.get()
    assert (row.minute, row.count, row.errors, row.total_ms, row.max_ms) == (MINUTE, 3, 0, 18.0, 8.0)
    pending = recorder.pending()[(MINUTE + dt.timedelta(minutes=1), "rest", "GET /api/v1/wallets")]
    assert (pending.count, pending.errors) == (1, 1)


def test_off_mode_keeps_a_bounded_number_of_minutes():
    for offset in range(recorder.MAX_PENDING_MINUTES + 5):
        with time_machine.travel(NOON + dt.timedelta(minutes=offset), tick=False):
            recorder.observe("rest", "GET /api/v1/wallets", 1.0, 200)
    assert len(recorder.pending()) == recorder.MAX_PENDING_MINUTES + 1
    assert recorder.dropped_minutes == 4


def test_an_mcp_tool_call_is_observed_by_tool_with_its_outcome(make_key, make_wallet):
    wallet = make_wallet("USD")
    mcp = McpClient(make_key("*").raw_key)
    with time_machine.travel(NOON, tick=False):
        mcp.ok("get_wallet_balance", {"wallet_id": wallet.pk})
        mcp.error("get_wallet_balance", {"wallet_id": "wal_missing0000000000000"})
    aggregate = recorder.pending()[(MINUTE, "mcp", "get_wallet_balance")]
    assert (aggregate.count, aggregate.errors, aggregate.client_errors) == (2, 0, 1)
