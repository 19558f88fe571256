import datetime as dt
import re

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts import apikeys, services
from accounts.models import ApiKey, Customer
from core.operations import ALL_SCOPES, scope_allows

pytestmark = [pytest.mark.django_db]


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response


def test_key_is_stored_only_as_an_hmac(make_key, settings):
    created = make_key("payments:read")
    key = ApiKey.objects.get(pk=created.api_key.pk)
    assert re.fullmatch(r"sk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}", created.raw_key)
    assert created.raw_key.startswith(key.prefix + "_")
    assert key.secret_hash == apikeys.hash_key(created.raw_key)
    assert len(key.secret_hash) == 64
    stored = " ".join(str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values())
    assert created.raw_key not in stored
    assert created.raw_key.split("_", 2)[2] not in stored
    # A different server secret gives a different hash: it is an HMAC, not a plain digest.
    settings.API_KEY_HMAC_SECRET = "another-secret"
    assert apikeys.hash_key(created.raw_key) != key.secret_hash


def test_generated_key_has_a_12_char_base62_prefix_that_split_finds():
    prefixes = set()
    for _ in range(200):
        prefix, raw = apikeys.generate()
        assert re.fullmatch(r"sk_[A-Za-z0-9]{12}", prefix)
        assert re.fullmatch(r"sk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}", raw)
        assert apikeys.split(raw) == prefix
        prefixes.add(prefix)
    assert len(prefixes) == 200


def test_key_is_found_by_prefix_with_one_query(make_key, django_assert_max_num_queries):
    created = make_key("payments:read")
    client = bearer(created.raw_key)
    client.get("/api/v1/customers")
    with django_assert_max_num_queries(4) as captured:
        assert client.get("/api/v1/customers").status_code == 200
    key_queries = [q["sql"] for q in captured.captured_queries if '"accounts_apikey"' in q["sql"]]
    assert len(key_queries) == 1
    assert key_queries[0].startswith("SELECT") and '"accounts_apikey"."prefix" =' in key_queries[0]


def test_no_key_is_401_not_authenticated():
    r = error(APIClient().get("/api/v1/customers"), 401, "not_authenticated")
    assert r["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer sk_abcdefghijkl_wrongwrongwrongwrongwrongwrong",
                                    "Basic dXNlcjpwYXNz", "Bearer "])
def test_bad_key_is_401_invalid_api_key(make_key, header):
    make_key("*")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    error(client.get("/api/v1/customers"), 401, "invalid_api_key")


def test_right_prefix_wrong_secret_is_401(make_key):
    created = make_key("*")
    forged = created.api_key.prefix + "_" + "A" * 43
    error(bearer(forged).get("/api/v1/customers"), 401, "invalid_api_key")


def test_expired_key_is_401(make_key):
    start = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        created = make_key("*", expires_days=1)
        assert created.api_key.expires_at == start + dt.timedelta(days=1)
        assert bearer(created.raw_key).get("/api/v1/customers").status_code == 200
    with time_machine.travel(start + dt.timedelta(days=1, seconds=1), tick=False):
        error(bearer(created.raw_key).get("/api/v1/customers"), 401, "api_key_expired")


def test_revoked_key_is_401(make_key, system_actor):
    created = make_key("*")
    services.api_key_revoke(actor=system_actor, api_key_id=created.api_key.pk)
    error(bearer(created.raw_key).get("/api/v1/customers"), 401, "api_key_revoked")


def test_deactivated_owner_is_401(make_key):
    created = make_key("*")
    created.api_key.owner.is_active = False
    created.api_key.owner.save()
    error(bearer(created.raw_key).get("/api/v1/customers"), 401, "invalid_api_key")


def test_last_used_at_is_written_at_most_once_a_minute(make_key):
    start = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        created = make_key("*")
        assert created.api_key.last_used_at is None
        bearer(created.raw_key).get("/api/v1/customers")
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False):
        bearer(created.raw_key).get("/api/v1/customers")
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        bearer(created.raw_key).get("/api/v1/customers")
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at == start + dt.timedelta(seconds=61)


def test_missing_scope_is_403_insufficient_scope(make_key):
    read_only = bearer(make_key("payments:read").raw_key)
    r = error(read_only.post("/api/v1/customers", {"email": "a@example.com"}, format="json"), 403,
              "insufficient_scope")
    assert r.json()["error"]["details"] == {"required_scope": "payments:write"}
    other_area = bearer(make_key("wallets:write,subscriptions:read").raw_key)
    error(other_area.get("/api/v1/customers"), 403, "insufficient_scope")
    assert Customer.objects.count() == 0


def test_write_implies_read(make_key):
    client = bearer(make_key("payments:write").raw_key)
    assert client.get("/api/v1/customers").status_code == 200
    assert client.post("/api/v1/customers", {"email": "a@example.com"}, format="json").status_code == 201


@pytest.mark.parametrize(("granted", "required", "allowed"), [
    (["*"], "risk:write", True), (["risk:write"], "risk:read", True), (["risk:read"], "risk:write", False),
    (["payments:write"], "wallets:read", False), ([], "payments:read", False),
])
def test_scope_allows(granted, required, allowed):
    assert scope_allows(granted, required) is allowed


def test_scope_vocabulary():
    areas = ["payments", "wallets", "subscriptions", "risk", "compliance", "monitoring", "analytics", "events",
             "webhooks"]
    assert set(ALL_SCOPES) == {f"{a}:{lvl}" for a in areas for lvl in ("read", "write")} | {"*"}


def test_unknown_scope_is_refused(make_staff, system_actor):
    with pytest.raises(services.InvalidScopes):
        services.api_key_create(actor=system_actor, owner=make_staff(), name="x", scopes="payments:admin")
    with pytest.raises(services.InvalidScopes):
        services.api_key_create(actor=system_actor, owner=make_staff(), name="x", scopes="")
    assert ApiKey.objects.count() == 0


def test_owner_role_limits_the_key(make_key):
    """A `*` key of an auditor can read but not write: scopes and role, both."""
    client = bearer(make_key("*", role="auditor").raw_key)
    assert client.get("/api/v1/customers").status_code == 200
    r = error(client.post("/api/v1/customers", {"email": "a@example.com"}, format="json"), 403, "permission_denied")
    assert r.json()["error"]["details"] == {"required_permission": "accounts.add_customer"}
    assert Customer.objects.count() == 0


def test_scopes_are_normalised(make_key):
    created = make_key(" wallets:read ,payments:write,wallets:read")
    assert created.api_key.scopes == ["payments:write", "wallets:read"]
