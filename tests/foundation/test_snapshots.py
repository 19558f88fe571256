"""API keys (with their owners' permissions) and approval thresholds are read from the cache on each
request, and a change stops or starts applying within the stated bound: at once in the changing
process and, with Redis, in every other; within SNAPSHOT_LOCAL_SECONDS with the per-process cache.

Transactional tests: inside a transaction the cache is bypassed (core.snapshots), so what is
proven here is the committed, many-request path that the server runs."""

import datetime as dt
import multiprocessing
import time

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey
from accounts.selectors import api_key_authenticate
from approvals import selectors as approval_selectors
from approvals import services as approval_services
from core import clock
from core.context import Actor
from core.errors import DomainError
from core.snapshots import shared_cache

pytestmark = pytest.mark.django_db(transaction=True)


def _client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def _tables(queries) -> list[str]:
    return [q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in queries.captured_queries
            if q["sql"].startswith("SELECT") and " FROM " in q["sql"]]


def test_a_key_and_its_permissions_are_read_once_then_served_from_the_cache(make_key):
    created = make_key("*", role="operator")
    client = _client(created.raw_key)
    assert client.get("/api/v1/wallets").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/wallets").status_code == 200
    tables = _tables(queries)
    assert "accounts_apikey" not in tables
    assert "auth_permission" not in tables


def test_a_revoked_key_is_refused_on_the_next_request(make_key, system_actor):
    created = make_key("*", role="operator")
    client = _client(created.raw_key)
    assert client.get("/api/v1/wallets").status_code == 200
    services.api_key_revoke(actor=system_actor, api_key_id=created.api_key.pk)
    response = client.get("/api/v1/wallets")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "api_key_revoked")


def test_a_removed_permission_is_refused_on_the_next_request(make_key, system_actor):
    created = make_key("*", role="operator")
    owner = created.api_key.owner
    client = _client(created.raw_key)
    body = {"from_wallet_id": "wal_nosuchwallet000000000", "to_wallet_id": "wal_nosuchwallet000000001",
            "amount": "1.00", "currency": "USD"}
    assert client.post("/api/v1/transfers", body, format="json").status_code == 404
    services.staff_user_set_role(actor=system_actor, user=owner, role="support")
    response = client.post("/api/v1/transfers", body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_a_permission_taken_from_the_role_itself_is_refused_on_the_next_request(make_key):
    created = make_key("*", role="operator")
    client = _client(created.raw_key)
    body = {"from_wallet_id": "wal_nosuchwallet000000000", "to_wallet_id": "wal_nosuchwallet000000001",
            "amount": "1.00", "currency": "USD"}
    assert client.post("/api/v1/transfers", body, format="json").status_code == 404
    Group.objects.get(name="operator").permissions.remove(
        *Group.objects.get(name="operator").permissions.filter(codename="transfer_funds"))
    response = client.post("/api/v1/transfers", body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_a_deactivated_owner_is_refused_on_the_next_request(make_key):
    created = make_key("*", role="operator")
    client = _client(created.raw_key)
    assert client.get("/api/v1/wallets").status_code == 200
    owner = created.api_key.owner
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert client.get("/api/v1/wallets").status_code == 401


def test_a_threshold_saved_applies_to_the_next_call_and_a_deleted_one_stops(make_key, system_actor):
    key = make_key("*").api_key
    assert approval_selectors.threshold_for(api_key=key, operation="transfer_funds", currency=None) == []
    threshold = approval_services.threshold_save(actor=system_actor, api_key=None, operation="transfer_funds",
                                                 currency="USD", amount="10.00")
    bound = approval_selectors.threshold_for(api_key=key, operation="transfer_funds", currency=None)
    assert [(t.pk, t.amount) for t in bound] == [(threshold.pk, 1000)]
    with CaptureQueriesContext(connection) as queries:
        approval_selectors.threshold_for(api_key=key, operation="transfer_funds", currency="USD")
    assert len(queries) == 0
    threshold.delete()
    assert approval_selectors.threshold_for(api_key=key, operation="transfer_funds", currency=None) == []


def test_a_change_no_signal_announced_is_seen_within_the_local_bound(make_key, settings):
    """Another process's change reaches this one through the cache's version (Redis) or, with the
    per-process cache, when the entry expires: simulated by a change made without signals."""
    created = make_key("*", role="operator")
    api_key_authenticate(raw_key=created.raw_key)
    ApiKey.objects.filter(pk=created.api_key.pk).update(revoked_at=clock.now())
    if shared_cache():
        pytest.skip("with Redis the other process's commit replaces the version: see the process test")
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        api_key_authenticate(raw_key=created.raw_key)  # still cached
        traveller.shift(dt.timedelta(seconds=settings.SNAPSHOT_LOCAL_SECONDS + 0.1))
        with pytest.raises(DomainError) as refused:
            api_key_authenticate(raw_key=created.raw_key)
    assert refused.value.code == "api_key_revoked"


def _authenticate_until_refused(raw_key: str, ready, started, result) -> None:
    connections.close_all()  # the parent's connection is not this process's
    try:
        api_key_authenticate(raw_key=raw_key)
        ready.set()
        started.wait(10)
        began = time.monotonic()
        while time.monotonic() - began < 10:
            try:
                api_key_authenticate(raw_key=raw_key)
            except DomainError as exc:
                result.put((exc.code, time.monotonic() - began))
                return
            time.sleep(0.02)
        result.put(("still accepted", None))
    finally:
        connections.close_all()


@pytest.mark.postgres
def test_a_key_revoked_in_one_process_stops_working_in_another_within_the_bound(make_key, settings):
    created = make_key("*", role="operator")
    context = multiprocessing.get_context("fork")
    ready, started, result = context.Event(), context.Event(), context.Queue()
    connections.close_all()
    worker = context.Process(target=_authenticate_until_refused, args=(created.raw_key, ready, started, result))
    worker.start()
    try:
        assert ready.wait(10), "the other process did not authenticate the key"
        services.api_key_revoke(actor=Actor.system("tests"), api_key_id=created.api_key.pk)
        started.set()
        code, seconds = result.get(timeout=20)
    finally:
        worker.join(5)
    assert code == "api_key_revoked"
    bound = 1.0 if shared_cache() else settings.SNAPSHOT_LOCAL_SECONDS + 1.0
    assert seconds is not None and seconds <= bound


def test_a_staff_login_does_not_make_cached_keys_stale(make_key):
    created = make_key("*", role="operator")
    client = _client(created.raw_key)
    assert client.get("/api/v1/wallets").status_code == 200
    owner = created.api_key.owner
    owner.last_login = clock.now()
    owner.save(update_fields=["last_login"])  # what django.contrib.auth's update_last_login does
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/wallets").status_code == 200
    assert "accounts_apikey" not in _tables(queries)
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert client.get("/api/v1/wallets").status_code == 401


def _count_cache_reads(monkeypatch) -> list[str]:
    """The cache's reads, counted as they go through to the real cache."""
    from django.core.cache import caches

    default = caches["default"]
    reads: list[str] = []
    for name in ("get", "get_many"):
        real = getattr(default, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            reads.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(default, name, counted)
    return reads


def test_with_redis_a_request_reads_the_key_and_the_thresholds_in_one_cache_round_trip(make_key, make_wallet,
                                                                                         system_actor, monkeypatch):
    if not shared_cache():
        pytest.skip("the per-process cache has no round trips to save")
    approval_services.threshold_save(actor=system_actor, api_key=None, operation="transfer_funds", currency="USD",
                                     amount="1000.00")
    source, target = make_wallet(balance=500), make_wallet()
    client = _client(make_key("*").raw_key)
    body = {"from_wallet_id": source.pk, "to_wallet_id": target.pk, "amount": "1.00", "currency": "USD"}
    assert client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="warm").status_code == 201
    reads = _count_cache_reads(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="measured")
    assert response.status_code == 201
    assert reads == ["get_many"]  # the versions of every namespace, read once; the entries from this process
    assert not {"accounts_apikey", "approvals_approvalthreshold"} & set(_tables(queries))


def test_a_change_made_in_the_request_is_read_back_in_it(make_key, system_actor):
    from core.snapshots import request_scope

    key = make_key("*").api_key
    with request_scope():
        assert approval_selectors.threshold_for(api_key=key, operation="transfer_funds", currency=None) == []
        threshold = approval_services.threshold_save(actor=system_actor, api_key=None, operation="transfer_funds",
                                                     currency="USD", amount="10.00")
        bound = approval_selectors.threshold_for(api_key=key, operation="transfer_funds", currency=None)
    assert [(t.pk, t.amount) for t in bound] == [(threshold.pk, 1000)]


def test_another_process_s_change_applies_from_the_scope_s_next_read_of_the_versions(make_key, settings):
    from core.snapshots import invalidate_all_now, request_scope

    created = make_key("*", role="operator")
    with request_scope():
        api_key_authenticate(raw_key=created.raw_key)
    ApiKey.objects.filter(pk=created.api_key.pk).update(revoked_at=clock.now())  # no signal: as from elsewhere
    invalidate_all_now()  # the other process's commit replacing the versions
    with request_scope(), pytest.raises(DomainError) as refused:
        api_key_authenticate(raw_key=created.raw_key)
    assert refused.value.code == "api_key_revoked"


def test_each_read_gets_its_own_copy(make_key):
    from core.snapshots import request_scope

    created = make_key("*", role="operator")
    with request_scope():
        first = api_key_authenticate(raw_key=created.raw_key)
        first.owner.first_name = "changed in memory only"
        second = api_key_authenticate(raw_key=created.raw_key)
    assert second is not first and second.owner.first_name != "changed in memory only"


def test_copies_share_the_owner_s_permissions_which_cannot_change(make_key):
    from core.snapshots import request_scope

    created = make_key("*", role="operator")
    with request_scope():
        first = api_key_authenticate(raw_key=created.raw_key)
        second = api_key_authenticate(raw_key=created.raw_key)
    assert first.owner is not second.owner
    assert type(first.owner._perm_cache) is frozenset and first.owner._perm_cache is second.owner._perm_cache
    assert second.owner.has_perm("wallets.view_wallet") and not second.owner.has_perm("accounts.delete_user")


class _Box:
    """Hashable and changeable, as a model instance is."""

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        return 1


def test_only_frozensets_of_unchangeable_values_are_shared():
    from core import snapshots

    value = {"names": frozenset({"a", "b"}), "boxes": frozenset({_Box(1)})}
    snapshots._keep("test:shared", 1, value, until=time.time() + 60)
    try:
        first, second = (snapshots._copy(snapshots._kept["test:shared"]) for _ in range(2))
    finally:
        snapshots._kept.pop("test:shared")
    assert first["names"] is second["names"] == frozenset({"a", "b"})
    assert next(iter(first["boxes"])) is not next(iter(second["boxes"]))


def test_with_a_copy_kept_the_round_trip_reads_the_versions_only(make_key, monkeypatch):
    """The entry (~14 KB pickled for an admin's key) crosses the network only when the copy kept in this
    process is stale (the same with the per-process cache, where it is unpickled for nothing)."""
    from django.core.cache import caches

    from core.snapshots import invalidate_all_now, request_scope

    created = make_key("*", role="operator")
    asked: list[list[str]] = []
    single: list[str] = []
    default = caches["default"]
    real_many, real_get = default.get_many, default.get
    in_many = []

    def get_many(keys, *args, **kwargs):
        asked.append(list(keys))
        in_many.append(True)  # the per-process cache's get_many reads key by key through get
        try:
            return real_many(keys, *args, **kwargs)
        finally:
            in_many.pop()

    def get(key, *args, **kwargs):
        if not in_many:
            single.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(default, "get_many", get_many)
    monkeypatch.setattr(default, "get", get)
    with request_scope():
        api_key_authenticate(raw_key=created.raw_key)  # nothing kept yet: the entry comes with the versions
    with request_scope():
        api_key_authenticate(raw_key=created.raw_key)
    entry_keys = [[key for key in keys if not key.endswith(":version")] for keys in asked]
    entry_key = f"snap:api_keys:{created.api_key.prefix}"
    assert entry_keys == [[entry_key], []] and single == []
    ApiKey.objects.filter(pk=created.api_key.pk).update(revoked_at=clock.now())
    invalidate_all_now()  # the copy kept is stale now: its entry is read on its own, found stale, the row loaded
    with request_scope(), pytest.raises(DomainError) as refused:
        api_key_authenticate(raw_key=created.raw_key)
    assert refused.value.code == "api_key_revoked"
    assert single == [entry_key]


def test_a_copy_kept_in_the_process_lives_no_longer_than_the_cache_entry(make_key, settings):
    """A change whose new version never reached Redis (its errors are ignored), or that sent no signal, still
    reaches a process within SNAPSHOT_SHARED_SECONDS, as when every read went to the cache."""
    from core import snapshots
    from core.snapshots import request_scope

    settings.SNAPSHOT_SHARED_SECONDS = settings.SNAPSHOT_LOCAL_SECONDS = 2
    created = make_key("*", role="operator")
    with request_scope():
        api_key_authenticate(raw_key=created.raw_key)  # loaded now: the cache's entry lives 2 s from here
    time.sleep(1)
    snapshots._kept.clear()  # as in another process, which takes its copy from the cache's entry a second later
    with request_scope():
        api_key_authenticate(raw_key=created.raw_key)
    ApiKey.objects.filter(pk=created.api_key.pk).update(revoked_at=clock.now())  # no signal, no new version
    with request_scope():
        api_key_authenticate(raw_key=created.raw_key)  # the kept copy, within the bound
    time.sleep(1.3)  # past the load's 2 s, not past the copy's own second
    with request_scope(), pytest.raises(DomainError) as refused:
        api_key_authenticate(raw_key=created.raw_key)
    assert refused.value.code == "api_key_revoked"
