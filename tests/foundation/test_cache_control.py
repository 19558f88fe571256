"""API answers carry personal data: no cache (browser, proxy) may keep them. Docs and schema may be cached."""

import pytest

pytestmark = pytest.mark.django_db


def test_every_api_answer_says_no_store(api, client):
    customer = api.post("/api/v1/customers", {"email": "ada@example.com"}, format="json")
    answers = {
        "create": customer,
        "read": api.get(f"/api/v1/customers/{customer.json()['id']}"),
        "list": api.get("/api/v1/customers"),
        "refused": api.get("/api/v1/customers/cus_missing"),
        "django 404": api.get("/api/v1/no-such-thing"),
        "405": api.delete("/api/v1/customers"),
        "unauthenticated": client.get("/api/v1/customers"),
        "mcp": client.post("/mcp/", data="{}", content_type="application/json"),
        "mcp without slash": client.post("/mcp", data="{}", content_type="application/json"),
    }
    assert {name: (r.status_code, r.get("Cache-Control")) for name, r in answers.items()} == {
        "create": (201, "no-store"), "read": (200, "no-store"), "list": (200, "no-store"),
        "refused": (404, "no-store"), "django 404": (404, "no-store"), "405": (405, "no-store"),
        "unauthenticated": (401, "no-store"), "mcp": (401, "no-store"), "mcp without slash": (401, "no-store"),
    }


def test_schema_and_docs_pages_may_be_cached(client):
    for url in ("/api/schema/", "/api/docs/", "/api/redoc/"):
        assert "no-store" not in client.get(url).get("Cache-Control", ""), url
