"""A cursor belongs to one list: one from another list is 400 validation_error, never a 500
(Schemathesis found GET /wallets/{id}/transactions answering 500 to a payments cursor)."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_cursor_from_another_list_is_refused_as_invalid(api):
    customers = [api.post("/api/v1/customers", {"email": f"c{i}@example.com"}, format="json").json()
                 for i in range(2)]
    wallet = api.post("/api/v1/wallets", {"customer_id": customers[0]["id"], "currency": "usd"}, format="json")
    customers_cursor = api.get("/api/v1/customers?limit=1").json()["next_cursor"]
    assert customers_cursor
    for url in (f"/api/v1/wallets/{wallet.json()['id']}/transactions", "/api/v1/payments", "/api/v1/wallets"):
        response = api.get(url, {"cursor": customers_cursor})
        assert (response.status_code, response.json()["error"]) == (400, {
            "code": "validation_error", "message": "The request has invalid fields.",
            "details": {"fields": {"cursor": ["Invalid cursor."]}}}), url
    assert api.get("/api/v1/customers", {"cursor": customers_cursor}).json()["data"] == [customers[0]]
