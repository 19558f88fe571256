"""The demo's request metrics are measured from real requests, with a key revoked afterwards."""

import io

import pytest
from django.db.models import Sum

from accounts.models import ApiKey
from monitoring import demo_metrics
from monitoring.models import PerformanceMetric, RequestMetricMinute

from .metrics_setup import fresh_metrics  # noqa: F401

pytestmark = pytest.mark.django_db


def test_nothing_is_measured_without_an_admin(roles):
    out = io.StringIO()
    demo_metrics.seed(rng=None, stdout=out)
    assert RequestMetricMinute.objects.count() == 0
    assert "no admin user yet" in out.getvalue()


def test_real_requests_are_measured_by_route_once(make_staff, make_wallet):
    make_staff("admin")
    wallet = make_wallet("USD")
    out = io.StringIO()
    demo_metrics.seed(rng=None, stdout=out)
    # Summed over minutes: the requests may straddle a minute's end (one row per route and minute).
    rows = {name: (count, refused) for name, count, refused in RequestMetricMinute.objects.values("name").annotate(
        total=Sum("count"), refused=Sum("client_errors")).values_list("name", "total", "refused")}
    rounds = demo_metrics.ROUNDS
    assert rows["GET /api/v1/wallets"] == (rounds, 0)
    assert rows["GET /api/v1/customers"] == (rounds, 0)
    # The bench wallet, then the missing one: one series, the 404s as refusals.
    assert rows["GET /api/v1/wallets/<str:wallet_id>"] == (2 * rounds, rounds)
    assert rows["GET /api/v1/reports/performance"] == (rounds, 0)
    metric = PerformanceMetric.objects.get()
    assert (metric.name, metric.unit, metric.tags) == ("demo.seed_request_batch_ms", "ms",
                                                       {"requests": str(rounds * 6)})
    assert ApiKey.objects.get(name="demo request metrics").revoked_at is not None
    assert wallet.pk
    demo_metrics.seed(rng=None, stdout=out)  # idempotent
    assert PerformanceMetric.objects.count() == 1
    assert "already measured" in out.getvalue()
