import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Customer
from core.context import Actor
from core.errors import IdempotencyKeyInUse
from core.idempotency import execute_write, fingerprint, purge_expired
from core.models import IdempotencyRecord

from . import testviews

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.foundation.urls")]


def post(client, path, body, key):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_replay_returns_the_original_status_and_body_once(api):
    r1 = post(api, "/api/v1/customers", {"email": "a@example.com", "name": "Ann"}, "k-1")
    r2 = post(api, "/api/v1/customers", {"email": "a@example.com", "name": "Ann"}, "k-1")
    assert r1.status_code == r2.status_code == 201
    assert r2.json() == r1.json()
    assert "Idempotent-Replayed" not in r1
    assert r2["Idempotent-Replayed"] == "true"
    assert list(Customer.objects.values_list("pk", flat=True)) == [r1.json()["id"]]


def test_same_key_other_request_is_422_reuse_and_changes_nothing(api):
    r1 = post(api, "/api/v1/customers", {"email": "a@example.com"}, "k-1")
    r2 = post(api, "/api/v1/customers", {"email": "b@example.com"}, "k-1")
    assert r2.status_code == 422
    assert r2.json()["error"]["code"] == "idempotency_key_reuse"
    assert list(Customer.objects.values_list("email", flat=True)) == ["a@example.com"]
    # Same key on another operation is a reuse too.
    r3 = api.post(f"/api/v1/customers/{r1.json()['id']}", {"name": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert r3.status_code == 422
    assert Customer.objects.get().name == ""


def test_keys_are_scoped_to_the_caller(client_for):
    one, two = client_for("*"), client_for("*")
    r1 = post(one, "/api/v1/customers", {"email": "a@example.com"}, "shared")
    r2 = post(two, "/api/v1/customers", {"email": "a@example.com"}, "shared")
    assert r1.status_code == r2.status_code == 201
    assert "Idempotent-Replayed" not in r2
    assert r1.json()["id"] != r2.json()["id"]
    assert Customer.objects.count() == 2


@pytest.mark.parametrize("key", ["x" * 256, "bad\nkey", ""])
def test_invalid_key_is_400(api, key):
    r = post(api, "/api/v1/customers", {"email": "a@example.com"}, key)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "idempotency_key_invalid"
    assert Customer.objects.count() == 0


def test_key_of_255_characters_is_accepted(api):
    r = post(api, "/api/v1/customers", {"email": "a@example.com"}, "k" * 255)
    assert r.status_code == 201


def test_business_refusal_is_stored_and_replayed_without_partial_state(api):
    testviews.effects.clear()
    r1 = post(api, "/api/test/refuse", {"note": "n1"}, "ref-1")
    assert r1.status_code == 422
    assert r1.json() == {"error": {"code": "test_refused", "message": "Refused for the test.",
                                   "details": {"note": "n1"}}}
    assert Customer.objects.count() == 0  # the row written before the refusal was rolled back
    r2 = post(api, "/api/test/refuse", {"note": "n1"}, "ref-1")
    assert r2.status_code == 422
    assert r2.json() == r1.json()
    assert r2["Idempotent-Replayed"] == "true"
    assert testviews.effects == ["n1"]  # the handler ran once
    assert IdempotencyRecord.objects.get(key="ref-1").response_status == 422


def test_domain_404_is_stored(api):
    path = "/api/v1/customers/cus_missing0000000000000000000"
    r1 = api.post(path, {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="nf")
    r2 = api.post(path, {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="nf")
    assert r1.status_code == r2.status_code == 404
    assert r2["Idempotent-Replayed"] == "true"


def test_validation_400_is_not_stored(api):
    r1 = post(api, "/api/v1/customers", {"email": "nope"}, "v-1")
    assert r1.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    # Fixing the request under the same key is not a reuse.
    r2 = post(api, "/api/v1/customers", {"email": "ok@example.com"}, "v-1")
    assert r2.status_code == 201
    assert "Idempotent-Replayed" not in r2


def test_403_is_not_stored(make_key, system_actor):
    created = make_key("payments:write", role="auditor")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
    r1 = post(client, "/api/v1/customers", {"email": "a@example.com"}, "p-1")
    assert r1.status_code == 403
    assert r1.json()["error"]["code"] == "permission_denied"
    assert not IdempotencyRecord.objects.exists()
    services.staff_user_set_role(actor=system_actor, user=created.api_key.owner, role="operator")
    r2 = post(client, "/api/v1/customers", {"email": "a@example.com"}, "p-1")
    assert r2.status_code == 201
    assert Customer.objects.count() == 1


def test_401_is_not_stored():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer sk_abcdefghijkl_notarealkeynotarealkey123")
    r = post(client, "/api/v1/customers", {"email": "a@example.com"}, "u-1")
    assert r.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_keys_are_kept_24_hours_then_purged(api):
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        r1 = post(api, "/api/v1/customers", {"email": "a@example.com"}, "ttl")
        record = IdempotencyRecord.objects.get(key="ttl")
        assert record.expires_at - record.created_at == dt.timedelta(hours=24)
    with time_machine.travel(start + dt.timedelta(hours=23, minutes=59), tick=False):
        assert purge_expired() == 0
        r2 = post(api, "/api/v1/customers", {"email": "a@example.com"}, "ttl")
        assert r2["Idempotent-Replayed"] == "true"
        assert r2.json() == r1.json()
    with time_machine.travel(start + dt.timedelta(hours=24, minutes=1), tick=False):
        assert purge_expired() == 1
        assert not IdempotencyRecord.objects.exists()
    assert Customer.objects.count() == 1


def test_reads_ignore_the_header(api):
    r = api.get("/api/v1/customers", HTTP_IDEMPOTENCY_KEY="read")
    assert r.status_code == 200
    assert not IdempotencyRecord.objects.exists()


def _lease_record(actor, key, *, locked_until, expires_at, state=IdempotencyRecord.State.IN_PROGRESS):
    created = expires_at - dt.timedelta(hours=24)
    return IdempotencyRecord.objects.create(
        scope=actor.idempotency_scope, key=key, operation="op", fingerprint=fingerprint("op", {"a": 1}), state=state,
        locked_until=locked_until, created_at=created, expires_at=expires_at, response_status=200,
        response_body={"old": True})


def _lease_write(actor, key, calls):
    def effect():
        calls.append(1)
        return 201, {"n": len(calls)}

    return execute_write(actor=actor, operation="op", key=key, payload={"a": 1}, effect=effect, mode="lease")


def test_lease_of_a_crashed_call_is_taken_over_once_it_lapses():
    actor, calls, now = Actor.system("tests"), [], dt.datetime.now(dt.UTC)
    _lease_record(actor, "crashed", locked_until=now + dt.timedelta(seconds=30), expires_at=now + dt.timedelta(hours=1))
    with pytest.raises(IdempotencyKeyInUse):
        _lease_write(actor, "crashed", calls)
    IdempotencyRecord.objects.filter(key="crashed").update(locked_until=now - dt.timedelta(seconds=1))
    result = _lease_write(actor, "crashed", calls)
    assert (result.status, result.body, result.replayed, calls) == (201, {"n": 1}, False, [1])
    record = IdempotencyRecord.objects.get(key="crashed")
    assert (record.state, record.response_body, record.locked_until) == (
        IdempotencyRecord.State.COMPLETED, {"n": 1}, None)
    replay = _lease_write(actor, "crashed", calls)
    assert (replay.status, replay.body, replay.replayed, calls) == (201, {"n": 1}, True, [1])


def test_lease_write_replaces_a_record_past_its_24_hours():
    actor, calls, now = Actor.system("tests"), [], dt.datetime.now(dt.UTC)
    old = _lease_record(actor, "old", locked_until=None, expires_at=now - dt.timedelta(seconds=1),
                        state=IdempotencyRecord.State.COMPLETED)
    result = _lease_write(actor, "old", calls)
    assert (result.status, result.body, result.replayed, calls) == (201, {"n": 1}, False, [1])
    record = IdempotencyRecord.objects.get(key="old")
    assert record.pk != old.pk
    assert record.expires_at > now + dt.timedelta(hours=23)
