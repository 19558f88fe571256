import re

import pytest

from accounts import apikeys
from accounts.models import ApiKey
from tests.adminurls import admin_url

pytestmark = pytest.mark.django_db


def test_admin_creates_a_key_and_shows_it_once(admin_client_for, make_staff):
    client = admin_client_for("admin")
    owner = make_staff(role="operator")
    r = client.post("/admin/accounts/apikey/add/", {"owner": owner.pk, "name": "shop integration",
                                                    "scopes": ["payments:write", "wallets:read"],
                                                    "expires_days": "90", "rate_limit": "600/min"})
    assert r.status_code == 200
    key = ApiKey.objects.get()
    shown = re.findall(r"sk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}", r.content.decode())
    assert len(set(shown)) == 1
    raw = shown[0]
    assert key.secret_hash == apikeys.hash_key(raw)
    assert (key.owner, key.name, key.scopes, key.rate_limit, key.created_by) == (
        owner, "shop integration", ["payments:write", "wallets:read"], "600/min", client.user)
    # Never again: neither the change page nor the list shows the key or its hash.
    for page in (admin_url(key), "/admin/accounts/apikey/"):
        html = client.get(page).content.decode()
        assert key.prefix in html
        assert raw not in html and key.secret_hash not in html


@pytest.mark.parametrize("rate_limit", ["0/min", "lots", "10/week", "5 /min"])
def test_admin_refuses_an_invalid_rate_limit(admin_client_for, make_staff, rate_limit):
    client = admin_client_for("admin")
    owner = make_staff(role="operator")
    r = client.post("/admin/accounts/apikey/add/", {"owner": owner.pk, "name": "x", "scopes": ["*"],
                                                    "rate_limit": rate_limit})
    assert r.status_code == 200
    assert "A rate limit looks like" in r.content.decode()
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("rate_limit", ["5/second", "100/minute", " 600/min "])
def test_admin_accepts_every_rate_the_service_accepts(admin_client_for, make_staff, rate_limit):
    client = admin_client_for("admin")
    owner = make_staff(role="operator")
    r = client.post("/admin/accounts/apikey/add/", {"owner": owner.pk, "name": "x", "scopes": ["*"],
                                                    "rate_limit": rate_limit})
    assert r.status_code == 200
    assert ApiKey.objects.get().rate_limit == rate_limit.strip()


def test_only_key_managers_can_create_or_revoke(admin_client_for, make_key):
    created = make_key("*")
    client = admin_client_for("auditor")
    assert client.get("/admin/accounts/apikey/add/").status_code == 403
    r = client.post("/admin/accounts/apikey/", {"action": "revoke_api_key", "_selected_action": [created.api_key.pk]})
    assert ApiKey.objects.get(pk=created.api_key.pk).revoked_at is None
    # The changelist again, without a revoke action to choose.
    assert r.status_code == 200
    assert b'<option value="revoke_api_key">' not in r.content
    assert b'<option value="revoke_api_key">' in admin_client_for("admin").get("/admin/accounts/apikey/").content
