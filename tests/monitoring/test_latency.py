import datetime as dt

import pytest

from monitoring import latency, selectors
from monitoring.models import RequestMetricMinute


def test_percentiles_are_within_one_bucket_of_the_truth():
    durations = [float(ms) for ms in range(1, 1001)]  # 1..1000 ms, p50 = 500, p95 = 950, p99 = 990
    histogram = latency.histogram_of(durations)
    assert sum(histogram) == 1000
    for q, truth in ((0.5, 500), (0.95, 950), (0.99, 990)):
        value = latency.percentile(histogram, q, max_ms=1000.0)
        assert truth / 1.2 <= value <= truth * 1.2, (q, value)
    assert latency.percentile(latency.empty(), 0.5) is None
    assert latency.percentile(latency.histogram_of([200_000.0]), 1.0, max_ms=200_000.0) == 200_000.0


def test_merging_two_histograms_is_the_histogram_of_both():
    a, b = [1.0, 2.0, 30.0], [4.5, 700.0]
    assert latency.merge([latency.histogram_of(a), latency.histogram_of(b)]) == latency.histogram_of(a + b)


@pytest.mark.django_db
def test_route_window_merges_processes_and_minutes():
    minute = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    for process, offset, durations, errors in (("a:1", 0, [10.0] * 8, 1), ("b:2", 1, [100.0, 200.0], 0),
                                                ("a:1", 5, [1.0], 0)):
        RequestMetricMinute.objects.create(
            minute=minute + dt.timedelta(minutes=offset), kind="rest", name="POST /api/v1/transfers",
            process=process, count=len(durations), errors=errors, client_errors=0, total_ms=sum(durations),
            max_ms=max(durations), histogram=latency.histogram_of(durations))
    [window] = selectors.route_window(since=minute, until=minute + dt.timedelta(minutes=5))
    assert (window.kind, window.name, window.count, window.summary.errors) == ("rest", "POST /api/v1/transfers", 10, 1)
    assert window.error_rate == 0.1
    assert window.summary.total_ms == 380.0 and window.summary.max_ms == 200.0
    assert 10 / 1.2 <= window.p50_ms <= 10 * 1.2
    assert 100 <= window.p95_ms <= 200.0
    assert selectors.route_window(since=minute, until=minute + dt.timedelta(minutes=5), kind="mcp") == []
