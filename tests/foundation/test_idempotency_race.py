"""The idempotency race on PostgreSQL with real threads."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Customer
from core.models import IdempotencyRecord
from tests.concurrency import failures, run_threads

from . import testviews

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.urls("tests.foundation.urls")]


def _client(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_many_threads_one_key_one_effect(roles, make_key):
    created = make_key("*")
    threads_n = 8
    clients = [_client(created.raw_key) for _ in range(threads_n)]

    def worker(i):
        r = clients[i].post("/api/v1/customers", {"email": "race@example.com"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="race-key")
        return r.status_code, r.json(), r.get("Idempotent-Replayed")

    results = run_threads(threads_n, worker)
    assert failures(results) == []
    assert Customer.objects.count() == 1
    customer_id = Customer.objects.get().pk
    originals = [r for r in results if r[0] == 201 and r[2] is None]
    assert len(originals) == 1
    for status, body, replayed in results:
        if status == 201:
            assert body["id"] == customer_id
        else:
            assert (status, body["error"]["code"]) == (409, "idempotency_key_in_use")
    assert IdempotencyRecord.objects.filter(key="race-key").count() == 1


@pytest.mark.parametrize("path", ["/api/test/held-db", "/api/test/held-lease"])
def test_second_request_while_first_runs_is_409_in_use(roles, make_key, path):
    created = make_key("*")
    testviews.started.clear()
    testviews.release.clear()
    testviews.effects.clear()
    first = {}

    def run_first():
        try:
            r = _client(created.raw_key).post(path, {"note": "held"}, format="json", HTTP_IDEMPOTENCY_KEY="held-key")
            first["status"], first["body"] = r.status_code, r.json()
        finally:
            connection.close()

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert testviews.started.wait(10)
        second = _client(created.raw_key).post(path, {"note": "held"}, format="json",
                                               HTTP_IDEMPOTENCY_KEY="held-key")
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "idempotency_key_in_use"
        # A different request under the held key is refused, not run: a lease is a committed row whose
        # fingerprint can be compared (reused), a database-mode record is not visible until the first commits.
        other = _client(created.raw_key).post(path, {"note": "other"}, format="json",
                                              HTTP_IDEMPOTENCY_KEY="held-key")
        expected = (422, "idempotency_key_reuse") if path.endswith("lease") else (409, "idempotency_key_in_use")
        assert (other.status_code, other.json()["error"]["code"]) == expected
    finally:
        testviews.release.set()
        thread.join(20)
    assert first["status"] == 201
    assert testviews.effects == ["held"]
    third = _client(created.raw_key).post(path, {"note": "held"}, format="json", HTTP_IDEMPOTENCY_KEY="held-key")
    assert third.status_code == 201
    assert third["Idempotent-Replayed"] == "true"
    assert third.json() == first["body"]
    assert Customer.objects.filter(email="held@held.example").count() == 1
    assert testviews.effects == ["held"]
