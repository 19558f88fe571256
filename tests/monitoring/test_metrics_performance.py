"""record_performance_metric, get_performance_metrics and generate_performance_report: exact values."""

import datetime as dt

import pytest
import time_machine

from monitoring import latency
from monitoring.models import PerformanceMetric, RequestMetricMinute

from .metrics_setup import fresh_metrics  # noqa: F401

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 30, 12, 10, tzinfo=dt.UTC)
TRANSFERS = "POST /api/v1/transfers"
WALLETS = "GET /api/v1/wallets"


def at(hh, mm, ss=0):
    return dt.datetime(2026, 11, 30, hh, mm, ss, tzinfo=dt.UTC)


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def minute_row(kind, name, minute, durations, *, errors=0, client_errors=0, process="web:1"):
    return RequestMetricMinute.objects.create(
        minute=minute, kind=kind, name=name, process=process, count=len(durations), errors=errors,
        client_errors=client_errors, total_ms=sum(durations), max_ms=max(durations),
        histogram=latency.histogram_of(durations))


@pytest.fixture
def traffic(db):
    """Now [12:00, 12:10): transfers 10 (one 5xx, one slow) on two processes, wallets 4 (one 4xx), a tool
    called twice; the previous ten minutes: transfers 4."""
    minute_row("rest", TRANSFERS, at(12, 0), [10.0] * 5, errors=1)
    minute_row("rest", TRANSFERS, at(12, 0), [10.0] * 4 + [100.0], process="web:2")
    minute_row("rest", WALLETS, at(12, 3), [2.0] * 4, client_errors=1)
    minute_row("mcp", "get_wallet", at(12, 5), [50.0, 50.0])
    minute_row("rest", TRANSFERS, at(11, 55), [10.0] * 4)
    with time_machine.travel(NOW, tick=False):
        yield


def p(durations, q):
    return latency.percentile(latency.histogram_of(durations), q, max_ms=max(durations))


def test_record_stores_a_measurement_with_its_actor(api):
    with time_machine.travel(NOW, tick=False):
        response = api.post("/api/v1/metrics", {"name": "checkout.render_ms", "value": 12.5, "unit": "ms",
                                                "tags": {"page": "cart"}, "recorded_at": "2026-11-30T12:01:00Z"},
                            format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    metric = PerformanceMetric.objects.get()
    assert body == {"id": metric.pk, "name": "checkout.render_ms", "value": 12.5, "unit": "ms",
                    "tags": {"page": "cart"}, "recorded_at": "2026-11-30T12:01:00Z", "created": "2026-11-30T12:10:00Z",
                    "actor_type": "api_key", "actor_id": api.api_key.pk, "actor_label": metric.actor_label}
    assert metric.pk.startswith("pmet_")


@pytest.mark.parametrize(("payload", "code"), [
    ({"name": "http.p95_ms", "value": 1}, "metric_name_reserved"),
    ({"name": "Checkout Render", "value": 1}, "invalid_metric_name"),
    ({"name": "a" * 101, "value": 1}, "invalid_metric_name"),
    ({"name": "checkout.ms", "value": 1e16}, "invalid_metric_value"),
    ({"name": "checkout.ms", "value": True}, "invalid_metric_value"),
    ({"name": "checkout.ms", "value": "12"}, "invalid_metric_value"),
    ({"name": "checkout.ms", "value": 1, "tags": {f"k{i}": "v" for i in range(11)}}, "invalid_metric_tags"),
    ({"name": "checkout.ms", "value": 1, "tags": {"page": 3}}, "invalid_metric_tags"),
    ({"name": "checkout.ms", "value": 1, "tags": {"Page": "x"}}, "invalid_metric_tags"),
    ({"name": "checkout.ms", "value": 1, "tags": {"page": "x" * 201}}, "invalid_metric_tags"),
    ({"name": "checkout.ms", "value": 1, "recorded_at": "2026-11-20T00:00:00Z"}, "invalid_metric_time"),
    ({"name": "checkout.ms", "value": 1, "unit": "furlongs"}, "validation_error"),
])
def test_record_refuses_bad_names_values_and_tags_and_stores_nothing(api, payload, code):
    with time_machine.travel(NOW, tick=False):
        response = api.post("/api/v1/metrics", payload, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert PerformanceMetric.objects.count() == 0


def test_record_needs_the_write_scope(client_for):
    response = client_for("monitoring:read").post("/api/v1/metrics", {"name": "a.b", "value": 1}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")
    assert PerformanceMetric.objects.count() == 0


def test_a_custom_series_per_tag_set_at_five_minutes(api):
    with time_machine.travel(NOW, tick=False):
        for value, minute, page in ((10, 1, "cart"), (20, 3, "cart"), (40, 7, "pay"), (99, 11, "cart")):
            assert api.post("/api/v1/metrics", {"name": "checkout.render_ms", "value": value, "unit": "ms",
                                                "tags": {"page": page},
                                                "recorded_at": iso(at(12, minute))}, format="json").status_code == 201
        response = api.get("/api/v1/metrics", {"name": "checkout.render_ms", "from": "2026-11-30T12:00:00Z",
                                               "to": "2026-11-30T12:10:00Z", "resolution": "5m"})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "name": "checkout.render_ms", "unit": "ms", "resolution": "5m", "from": "2026-11-30T12:00:00Z",
        "to": "2026-11-30T12:10:00Z", "series": [
            {"tags": {"page": "cart"}, "points": [
                {"t": "2026-11-30T12:00:00Z", "count": 2, "value": 15.0, "min": 10.0, "max": 20.0, "sum": 30.0}]},
            {"tags": {"page": "pay"}, "points": [
                {"t": "2026-11-30T12:05:00Z", "count": 1, "value": 40.0, "min": 40.0, "max": 40.0, "sum": 40.0}]},
        ]}


def test_built_in_request_series_by_route(api, traffic):
    query = {"from": "2026-11-30T11:00:00Z", "to": "2026-11-30T13:00:00Z", "resolution": "1h",
             "tag": f"route:{TRANSFERS}"}
    body = api.get("/api/v1/metrics", {"name": "http.requests", **query}).json()
    assert body["unit"] == "count"
    assert body["series"] == [{"tags": {"route": TRANSFERS}, "points": [
        {"t": "2026-11-30T11:00:00Z", "count": 4, "value": 4.0, "min": None, "max": None, "sum": None},
        {"t": "2026-11-30T12:00:00Z", "count": 10, "value": 10.0, "min": None, "max": None, "sum": None}]}]
    body = api.get("/api/v1/metrics", {"name": "http.error_rate", **query}).json()
    assert [point["value"] for point in body["series"][0]["points"]] == [0.0, 0.1]
    body = api.get("/api/v1/metrics", {"name": "http.p95_ms", **query}).json()
    assert body["unit"] == "ms"
    assert [(point["value"], point["max"]) for point in body["series"][0]["points"]] == [
        (p([10.0] * 4, 0.95), 10.0), (p([10.0] * 9 + [100.0], 0.95), 100.0)]
    body = api.get("/api/v1/metrics", {"name": "mcp.requests", "from": "2026-11-30T12:00:00Z",
                                       "to": "2026-11-30T12:10:00Z", "resolution": "1m"}).json()
    assert body["series"] == [{"tags": {"tool": "get_wallet"}, "points": [
        {"t": "2026-11-30T12:05:00Z", "count": 2, "value": 2.0, "min": None, "max": None, "sum": None}]}]


@pytest.mark.parametrize(("query", "code"), [
    ({"name": "http.p42_ms"}, "unknown_metric"),
    ({"name": "http.requests", "from": "2026-11-28T00:00:00Z"}, "too_many_points"),
    ({"name": "http.requests", "from": "2026-11-30T13:00:00Z"}, "invalid_period"),
    ({"name": "http.requests", "tag": "route"}, "invalid_metric_tags"),
    ({"name": "bad name"}, "invalid_metric_name"),
    ({"name": "http.requests", "resolution": "2m"}, "validation_error"),
])
def test_series_queries_refused(api, traffic, query, code):
    params = {"from": "2026-11-30T12:00:00Z", "to": "2026-11-30T12:30:00Z", **query}
    response = api.get("/api/v1/metrics", params)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_the_report_ranks_routes_and_tools_against_the_previous_period(api, traffic):
    response = api.get("/api/v1/reports/performance", {"from": "2026-11-30T12:00:00Z", "to": "2026-11-30T12:10:00Z"})
    assert response.status_code == 200, response.json()
    body = response.json()
    transfers = [10.0] * 9 + [100.0]
    everything = transfers + [2.0] * 4
    assert (body["from"], body["to"], body["previous_from"], body["previous_to"]) == (
        "2026-11-30T12:00:00Z", "2026-11-30T12:10:00Z", "2026-11-30T11:50:00Z", "2026-11-30T12:00:00Z")
    assert body["routes_total"] == {
        "count": 14, "errors": 1, "client_errors": 1, "error_rate": round(1 / 14, 6), "throughput_per_minute": 1.4,
        "p50_ms": p(everything, 0.5), "p95_ms": p(everything, 0.95), "p99_ms": p(everything, 0.99),
        "previous_count": 4, "previous_error_rate": 0.0, "previous_p95_ms": p([10.0] * 4, 0.95),
        "count_change_pct": 250.0,
        "p95_change_pct": round((p(everything, 0.95) - p([10.0] * 4, 0.95)) / p([10.0] * 4, 0.95) * 100, 1)}
    assert [line["name"] for line in body["slowest_routes"]] == [TRANSFERS, WALLETS]
    assert body["slowest_routes"][0] == {
        "name": TRANSFERS, "count": 10, "errors": 1, "client_errors": 0, "error_rate": 0.1, "mean_ms": 19.0,
        "p50_ms": p(transfers, 0.5), "p95_ms": p(transfers, 0.95), "p99_ms": p(transfers, 0.99), "max_ms": 100.0,
        "previous_count": 4, "previous_error_rate": 0.0, "previous_p95_ms": p([10.0] * 4, 0.95),
        "count_change_pct": 150.0,
        "p95_change_pct": round((p(transfers, 0.95) - p([10.0] * 4, 0.95)) / p([10.0] * 4, 0.95) * 100, 1)}
    assert body["slowest_routes"][1]["previous_count"] == 0
    assert body["slowest_routes"][1]["count_change_pct"] is None
    assert [(line["name"], line["error_rate"]) for line in body["routes_by_error_rate"]] == [
        (TRANSFERS, 0.1), (WALLETS, 0.0)]
    assert [(line["name"], line["count"], line["p95_ms"]) for line in body["slowest_tools"]] == [
        ("get_wallet", 2, 50.0)]
    assert body["tools_total"]["throughput_per_minute"] == 0.2
    assert body["tools_by_error_rate"] == []


def test_the_report_period_is_bounded(api):
    response = api.get("/api/v1/reports/performance", {"from": "2026-10-01T00:00:00Z", "to": "2026-11-30T00:00:00Z"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_period")


def test_a_custom_series_reads_a_bounded_number_of_measurements(api, monkeypatch):
    from monitoring import performance

    monkeypatch.setattr(performance, "MAX_MEASUREMENTS", 2)
    with time_machine.travel(NOW, tick=False):
        for minute in (1, 2, 3):
            assert api.post("/api/v1/metrics", {"name": "a.b", "value": minute,
                                                "recorded_at": iso(at(12, minute))}, format="json").status_code == 201
        too_many = api.get("/api/v1/metrics", {"name": "a.b", "from": "2026-11-30T12:00:00Z",
                                               "to": "2026-11-30T12:10:00Z"})
        two = api.get("/api/v1/metrics", {"name": "a.b", "from": "2026-11-30T12:02:00Z",
                                          "to": "2026-11-30T12:10:00Z"})
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (400, "too_many_points")
    assert too_many.json()["error"]["details"] == {"max_measurements": 2}
    assert [point["value"] for point in two.json()["series"][0]["points"]] == [2.0, 3.0]
