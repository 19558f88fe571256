import pytest

from accounts.models import Customer

pytestmark = pytest.mark.django_db


def test_replay_and_reuse(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    r1 = api.post("/api/v1/customers", {"email": "a@example.com"}, format="json", **headers)
    r2 = api.post("/api/v1/customers", {"email": "a@example.com"}, format="json", **headers)
    assert r1.status_code == r2.status_code == 201
    assert r1.json() == r2.json()
    assert r2["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    r3 = api.post("/api/v1/customers", {"email": "b@example.com"}, format="json", **headers)
    assert r3.status_code == 422
    assert r3.json()["error"]["code"] == "idempotency_key_reuse"
    assert Customer.objects.count() == 1
