import pytest

pytestmark = pytest.mark.django_db


def test_create_and_get_customer(api):
    r = api.post("/api/v1/customers", {"email": "A@Example.com", "name": "Ann", "country": "gb"}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["id"].startswith("cus_")
    assert body["email"] == "a@example.com"
    assert body["country"] == "GB"
    r2 = api.get(f"/api/v1/customers/{body['id']}")
    assert r2.status_code == 200
    assert r2.json() == body
