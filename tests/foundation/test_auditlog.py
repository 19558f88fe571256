"""django-auditlog keeps field history of accounts' models, with the actor (API keys included)."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts import services
from accounts.models import ApiKey, Customer, User
from tests.adminurls import admin_url, operation_url
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk))


def test_api_key_request_records_the_key_owner_and_request_id(api):
    r = api.post("/api/v1/customers", {"email": "a@example.com", "name": "Ann"}, format="json",
                 HTTP_X_REQUEST_ID="audit-create-0001")
    customer = Customer.objects.get(pk=r.json()["id"])
    api.patch(f"/api/v1/customers/{customer.pk}", {"name": "Anne", "country": "fr"}, format="json",
              HTTP_X_REQUEST_ID="audit-update-0001")
    created, updated = entries_for(customer).order_by("timestamp")
    assert created.action == LogEntry.Action.CREATE
    assert created.actor == api.api_key.owner
    assert created.cid == "audit-create-0001"
    assert updated.action == LogEntry.Action.UPDATE
    assert updated.actor == api.api_key.owner
    assert updated.cid == "audit-update-0001"
    assert updated.changes_dict == {"name": ["Ann", "Anne"], "country": ["", "FR"], "updated": updated.changes_dict[
        "updated"]}


def test_api_request_records_the_callers_address_and_port(api):
    r = api.post("/api/v1/customers", {"email": "b@example.com", "name": "Bo"}, format="json",
                 REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_PORT="4431")
    created = entries_for(Customer.objects.get(pk=r.json()["id"])).get()
    assert (created.remote_addr, created.remote_port, created.actor) == ("203.0.113.7", 4431, api.api_key.owner)


def test_a_request_connects_no_signal_and_leaves_no_audit_context_behind(api):
    """django-auditlog's own middleware connected a pre_save receiver per request and disconnected it after, which
    emptied the signal's receiver cache each time (core.auditlog_context)."""
    from auditlog.context import auditlog_value
    from django.db.models.signals import pre_save

    CustomerFactory()  # a save: pre_save's receivers for Customer are looked up and cached
    receivers, cached = list(pre_save.receivers), dict(pre_save.sender_receivers_cache)
    assert Customer in cached
    for n in range(2):
        assert api.post("/api/v1/customers", {"email": f"c{n}@example.com"}, format="json").status_code == 201
    assert list(pre_save.receivers) == receivers
    assert pre_save.sender_receivers_cache[Customer] == cached[Customer]
    with pytest.raises(LookupError):
        auditlog_value.get()


def test_admin_change_records_the_staff_user(admin_client_for):
    client = admin_client_for("operator")
    customer = CustomerFactory(name="Old")
    r = client.post(operation_url(customer, "update_customer"),
                    {"_operation": "update_customer", "_token": "tok-" + "u" * 12, "name": "New", "country": "US",
                     "status": "blocked"})
    assert (r.status_code, r["Location"]) == (302, admin_url(customer))
    entry = entries_for(customer).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == client.user
    assert entry.changes_dict["name"] == ["Old", "New"]
    assert entry.changes_dict["status"] == ["active", "blocked"]


def test_api_key_history_never_holds_the_secret(make_key, system_actor, admin_client_for):
    created = make_key("*")
    client = admin_client_for("admin")
    r = client.post("/admin/accounts/apikey/", {"action": "revoke_api_key", "_selected_action": [created.api_key.pk],
                                                "_operation": "revoke_api_key", "_token": "tok-" + "r" * 12,
                                                "_confirm": "yes"})
    assert r.status_code == 302
    entries = entries_for(created.api_key).order_by("timestamp")
    assert [e.action for e in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert entries[1].actor == client.user
    assert set(entries[1].changes_dict) == {"revoked_at"}
    stored = ApiKey.objects.get(pk=created.api_key.pk)
    for entry in entries:
        assert stored.secret_hash not in entry.changes and created.raw_key not in entry.changes
        assert "secret_hash" not in entry.changes_dict


def test_role_change_and_password_history(make_staff, system_actor):
    user = make_staff(role="support")
    services.staff_user_set_role(actor=system_actor, user=user, role="finance")
    group_changes = [e.changes_dict["groups"] for e in entries_for(user) if "groups" in e.changes_dict]
    assert {"type": "m2m", "operation": "delete", "objects": ["support"]} in group_changes
    assert {"type": "m2m", "operation": "add", "objects": ["finance"]} in group_changes
    for entry in entries_for(user):
        assert "password" not in entry.changes_dict
        assert user.password not in entry.changes
    assert User.objects.get(pk=user.pk).groups.get().name == "finance"


def test_admin_change_of_an_id_the_admin_would_read_as_escaped(admin_client_for):
    # `_3F` after the prefix reads as `?` in an admin URL: the raw id is "not found", the quoted one works.
    client = admin_client_for("operator")
    customer = CustomerFactory(id="cus_3F" + "a" * 22, name="Old")
    raw = client.get(f"/admin/accounts/customer/{customer.pk}/change/")
    assert (raw.status_code, raw["Location"]) == (302, "/admin/")
    assert admin_url(customer) == "/admin/accounts/customer/cus_5F3F" + "a" * 22 + "/change/"
    assert operation_url(customer, "update_customer") == (
        "/admin/accounts/customer/cus_5F3F" + "a" * 22 + "/operation/update_customer/")
    r = client.post(operation_url(customer, "update_customer"),
                    {"_operation": "update_customer", "_token": "tok-" + "e" * 12, "name": "New"})
    assert (r.status_code, r["Location"]) == (302, admin_url(customer))
    assert entries_for(customer).get(action=LogEntry.Action.UPDATE).changes_dict["name"] == ["Old", "New"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_each_record_their_own_address(make_key):
    """One receiver for every thread: each request's context is its own (a context variable per thread)."""
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    key = make_key("*")
    barrier, failures = threading.Barrier(2), []

    def requests(n: int) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
            barrier.wait(timeout=10)
            for i in range(5):
                r = client.post("/api/v1/customers", {"email": f"t{n}-{i}@example.com"}, format="json",
                                REMOTE_ADDR=f"198.51.100.{n}")
                assert r.status_code == 201, r.content
        except Exception as exc:  # noqa: BLE001  # reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=requests, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    for n in (1, 2):
        customers = Customer.objects.filter(email__startswith=f"t{n}-")
        addresses = {e.remote_addr for c in customers for e in entries_for(c)}
        assert (customers.count(), addresses) == (5, {f"198.51.100.{n}"})
