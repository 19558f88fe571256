"""What the metrics tests share: a recorder, a live Prometheus state and a business cache of their own."""

import pytest
from django.core.cache import cache

from monitoring import prometheus, recorder


@pytest.fixture(autouse=True)
def fresh_metrics():
    recorder.reset()
    prometheus.reset_live()
    cache.delete(prometheus.BUSINESS_CACHE_KEY)
    yield
    recorder.reset()
    prometheus.reset_live()
    cache.delete(prometheus.BUSINESS_CACHE_KEY)
