"""Each role's permissions, through the groups the data migration made, the API and the admin."""

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from accounts.models import Customer
from accounts.roles import ROLE_NAMES, ROLE_RULES, permissions_for
from tests.adminurls import operation_url
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# role -> (view, add, change) customer; view API keys; manage API keys
CUSTOMER_MATRIX = {
    "admin": (True, True, True, True, True),
    "operator": (True, True, True, False, False),
    "risk_analyst": (True, False, True, False, False),
    "finance": (True, False, False, False, False),
    "support": (True, False, True, False, False),
    "auditor": (True, False, False, True, False),
}


def test_roles_exist_from_the_data_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_NAMES)
    assert set(ROLE_NAMES) == {"admin", "operator", "risk_analyst", "finance", "support", "auditor"}


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_customer_and_key_permissions(make_staff, role):
    user = make_staff(role=role)
    view, add, change, view_keys, manage_keys = CUSTOMER_MATRIX[role]
    assert user.has_perm("accounts.view_customer") is view
    assert user.has_perm("accounts.add_customer") is add
    assert user.has_perm("accounts.change_customer") is change
    assert user.has_perm("accounts.delete_customer") is (role == "admin")
    assert user.has_perm("accounts.view_apikey") is view_keys
    assert user.has_perm("accounts.add_apikey") is manage_keys
    assert user.has_perm("accounts.revoke_apikey") is manage_keys
    assert user.has_perm("accounts.change_user") is (role == "admin")


def test_auditor_is_read_only_everywhere():
    # Reading everything, and exporting it (masked: not export_personal_data), is all an auditor does.
    auditor = Group.objects.get(name="auditor")
    codenames = list(auditor.permissions.values_list("codename", flat=True))
    assert codenames
    assert all(c.startswith("view_") for c in codenames if c != "export_compliance_data")
    all_views = Permission.objects.filter(codename__startswith="view_").exclude(
        content_type__app_label="sessions").exclude(
        content_type__app_label="accounts",
        content_type__model__in=["stafftotpdevice", "backupcodedevice", "backupcode"])
    export = Permission.objects.get(content_type__app_label="compliance", codename="export_compliance_data")
    assert set(auditor.permissions.all()) == {*all_views, export}


@pytest.mark.parametrize("role", [r for r in ROLE_NAMES if r != "admin"])
def test_no_role_but_admin_sees_second_factor_secrets(make_staff, role):
    user = make_staff(role=role)
    for perm in ("accounts.view_stafftotpdevice", "accounts.view_backupcode", "accounts.view_backupcodedevice",
                 "accounts.delete_stafftotpdevice", "accounts.change_backupcodedevice",
                 "sessions.view_session"):
        assert not user.has_perm(perm)


def test_group_permissions_match_the_rules():
    every = [(p.content_type.app_label, p.codename) for p in Permission.objects.select_related("content_type")]
    for role in ROLE_NAMES:
        group = Group.objects.get(name=role)
        actual = {(p.content_type.app_label, p.codename) for p in group.permissions.select_related("content_type")}
        assert actual == set(permissions_for(role, every)), role


def test_admin_has_everything():
    assert Group.objects.get(name="admin").permissions.count() == Permission.objects.count()
    assert ROLE_RULES["admin"]["allow"] == ["*.*"]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_through_the_api(make_key, role):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key('*', role=role).raw_key}")
    customer = CustomerFactory()
    original_name = customer.name
    view, add, change, _, _ = CUSTOMER_MATRIX[role]
    assert client.get("/api/v1/customers").status_code == (200 if view else 403)
    r = client.post("/api/v1/customers", {"email": "new@example.com"}, format="json")
    assert r.status_code == (201 if add else 403)
    r = client.patch(f"/api/v1/customers/{customer.pk}", {"name": "Renamed"}, format="json")
    assert r.status_code == (200 if change else 403)
    customer.refresh_from_db()
    assert customer.name == ("Renamed" if change else original_name)
    assert Customer.objects.filter(email="new@example.com").exists() is add


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_in_the_admin(admin_client_for, role):
    client = admin_client_for(role)
    customer = CustomerFactory()
    view, add, change, view_keys, _ = CUSTOMER_MATRIX[role]
    assert client.get("/admin/accounts/customer/").status_code == (200 if view else 403)
    assert client.get("/admin/accounts/customer/add/").status_code == (200 if add else 403)
    assert client.get("/admin/accounts/apikey/").status_code == (200 if view_keys else 403)
    assert client.get("/admin/accounts/stafftotpdevice/").status_code == (200 if role == "admin" else 403)
    r = client.post(operation_url(customer, "update_customer"),
                    {"_operation": "update_customer", "_token": "tok-" + "r" * 12, "email": "changed@example.com",
                     "name": "N", "country": "US", "status": "active"})
    customer.refresh_from_db()
    if change:
        assert r.status_code == 302, r.content[:2000]
        assert customer.email == "changed@example.com"
    else:
        assert r.status_code == 403
        assert customer.email != "changed@example.com"
