"""The latency page: per route and tool for the chosen period, all processes merged."""

import datetime as dt

import pytest
import time_machine

from monitoring import latency
from monitoring.models import RequestMetricMinute

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_the_latency_page_shows_each_route_for_the_chosen_period(staff_client):
    for process, minutes_ago, durations, errors in (("web:1", 5, [10.0] * 3, 1), ("web:2", 20, [20.0], 0),
                                                    ("web:1", 120, [999.0], 0)):
        RequestMetricMinute.objects.create(
            minute=NOW - dt.timedelta(minutes=minutes_ago), kind="rest", name="POST /api/v1/transfers",
            process=process, count=len(durations), errors=errors, client_errors=0, total_ms=sum(durations),
            max_ms=max(durations), histogram=latency.histogram_of(durations))
    client = staff_client("auditor")
    with time_machine.travel(NOW, tick=False):
        hour = client.get("/admin/monitoring/requestmetricminute/")
        quarter = client.get("/admin/monitoring/requestmetricminute/?period=15m")
        day = client.get("/admin/monitoring/requestmetricminute/?period=24h&kind__exact=rest")
    assert hour.status_code == quarter.status_code == day.status_code == 200
    assert '<td data-label="Requests" class="bo-num">4</td>' in hour.content.decode()
    assert '<td data-label="Errors (5xx)" class="bo-num">25.00%</td>' in hour.content.decode()
    assert '<td data-label="Requests" class="bo-num">3</td>' in quarter.content.decode()
    assert '<td data-label="Requests" class="bo-num">5</td>' in day.content.decode()
    assert "POST /api/v1/transfers" in day.content.decode()
