"""The accounts admin as a door of the operations table: customer changes and key revocation are
operation calls (core.admin_ops), with the REST codes and audit; refusals change nothing."""

import pytest

from accounts.models import ApiKey, Customer
from core.audit import AuditEvent
from tests.adminurls import admin_url, operation_url
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def run(client, obj, operation, token, **fields):
    return client.post(operation_url(obj, operation), {"_operation": operation, "_token": f"tok-{token:0>12}",
                                                       **fields})


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages]


def stored(customer):
    row = Customer.objects.get(pk=customer.pk)
    return row.email, row.name, row.country, row.status, row.updated


def test_customer_page_is_read_only_and_offers_update_to_whom_may_change(staff_client):
    customer = CustomerFactory(name="Old")
    page = staff_client("operator").get(admin_url(customer)).content.decode()
    assert operation_url(customer, "update_customer") in page
    assert 'name="name"' not in page  # the page's own form edits nothing
    auditor = staff_client("auditor")
    assert operation_url(customer, "update_customer") not in auditor.get(admin_url(customer)).content.decode()
    assert auditor.get(operation_url(customer, "update_customer")).status_code == 403


def test_update_changes_only_the_fields_given_as_the_staff_member(staff_client):
    customer = CustomerFactory(name="Old", country="DE")
    client = staff_client("operator")
    form = client.get(operation_url(customer, "update_customer")).content.decode()
    assert all(f'name="{field}"' in form for field in ("email", "name", "country", "status", "metadata"))
    assert 'name="customer_id"' not in form
    done = run(client, customer, "update_customer", "a", name="New", status="blocked")
    assert (done.status_code, done["Location"]) == (302, admin_url(customer))
    row = Customer.objects.get(pk=customer.pk)
    assert (row.name, row.status, row.country, row.email) == ("New", "blocked", "DE", customer.email)
    event = AuditEvent.objects.get(action="customer.updated", object_id=customer.pk)
    assert (event.actor_type, event.actor_label, event.details) == (
        "user", client.user.username, {"fields": ["name", "status"]})


def test_a_refused_update_shows_the_field_error_and_changes_nothing(staff_client):
    customer = CustomerFactory(name="Old", country="DE")
    before = stored(customer)
    client = staff_client("operator")
    # Refused by the operation's input serializer (validation_error), shown on its field.
    response = run(client, customer, "update_customer", "b", email="not an address", name="New")
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["Enter a valid email address."]}
    assert stored(customer) == before
    response = run(client, customer, "update_customer", "c", country="Germany", name="New")
    assert response.status_code == 200 and list(response.context["form"].errors) == ["country"]
    assert stored(customer) == before
    assert not AuditEvent.objects.filter(action="customer.updated").exists()


def test_revoke_previews_then_revokes_once_and_is_refused_to_other_roles(staff_client, make_key):
    created = make_key("*")
    key = created.api_key
    operator = staff_client("operator")
    assert operator.get(operation_url(key, "revoke_api_key")).status_code == 403
    refused = operator.post("/admin/accounts/apikey/", {
        "action": "revoke_api_key", "_selected_action": [key.pk], "_operation": "revoke_api_key",
        "_token": "tok-" + "o" * 12, "_confirm": "yes"})
    assert refused.status_code == 403  # operators do not even see the keys
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    admin = staff_client("admin")
    assert operation_url(key, "revoke_api_key") in admin.get(admin_url(key)).content.decode()
    preview = run(admin, key, "revoke_api_key", "p")
    assert preview.status_code == 200 and "Confirm: Revoke" in preview.content.decode()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    done = run(admin, key, "revoke_api_key", "p", _confirm="yes")
    assert (done.status_code, done["Location"]) == (302, admin_url(key))
    revoked_at = ApiKey.objects.get(pk=key.pk).revoked_at
    assert revoked_at is not None
    event = AuditEvent.objects.get(action="api_key.revoked", object_id=key.pk)
    assert (event.actor_type, event.actor_label) == ("user", admin.user.username)
    # Revoking again (another form) changes nothing and records nothing more.
    run(admin, key, "revoke_api_key", "q", _confirm="yes")
    assert ApiKey.objects.get(pk=key.pk).revoked_at == revoked_at
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1
