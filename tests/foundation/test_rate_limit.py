import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.throttling import ApiKeyRateThrottle

pytestmark = pytest.mark.django_db


def client_with(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_key_over_its_rate_gets_429_with_retry_after(make_key):
    limited = client_with(make_key("*", rate_limit="3/min").raw_key)
    other = client_with(make_key("*", rate_limit="3/min").raw_key)
    assert [limited.get("/api/v1/customers").status_code for _ in range(3)] == [200, 200, 200]
    r = limited.get("/api/v1/customers")
    assert r.status_code == 429
    err = r.json()["error"]
    assert err["code"] == "rate_limited"
    retry_after = int(r["Retry-After"])
    assert 1 <= retry_after <= 61
    assert err["details"] == {"retry_after_seconds": retry_after}
    # Per key: another key of the same owner role is unaffected.
    assert other.get("/api/v1/customers").status_code == 200


def test_writes_count_and_a_throttled_write_changes_nothing(make_key):
    from accounts.models import Customer

    client = client_with(make_key("*", rate_limit="2/min").raw_key)
    for i in range(2):
        assert client.post("/api/v1/customers", {"email": f"c{i}@example.com"}, format="json").status_code == 201
    r = client.post("/api/v1/customers", {"email": "c9@example.com"}, format="json")
    assert r.status_code == 429
    assert Customer.objects.count() == 2


def test_default_rate_is_configurable(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"] == "6000/min"
    assert ApiKeyRateThrottle().parse_rate("6000/min") == (6000, 60)
    assert "accounts.throttling.ApiKeyRateThrottle" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]


def test_rate_limit_override_is_validated(make_staff, system_actor):
    from accounts import services
    from accounts.models import ApiKey

    with pytest.raises(services.InvalidRateLimit):
        services.api_key_create(actor=system_actor, owner=make_staff(), name="x", scopes="*", rate_limit="lots")
    assert not ApiKey.objects.exists()


def test_a_key_is_counted_in_one_counter_per_window_not_a_list_of_request_times(make_key):
    from django.core.cache import cache

    created = make_key("*", rate_limit="100/min")
    client = client_with(created.raw_key)
    # The clock held mid-window: requests straddling a minute's edge would count in two windows.
    with time_machine.travel(1_767_614_430.0, tick=False):  # 30 s into a minute
        for _ in range(5):
            assert client.get("/api/v1/customers").status_code == 200
        window = int(ApiKeyRateThrottle().timer() // 60)
        assert cache.get(f"throttle_api_key_key:{created.api_key.pk}:{window}") == 5
        assert cache.get(f"throttle_api_key_key:{created.api_key.pk}") is None
