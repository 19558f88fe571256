"""What a staff member meets on every admin page: links that lead somewhere, a favicon, readable
headings and plurals, help text written for staff."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff_client):
    return staff_client("admin")


def test_view_site_link_leads_somewhere(admin_client, client):
    page = admin_client.get("/admin/").content.decode()
    links = re.findall(r'<a href="([^"]+)">View site</a>', page)
    for link in links:
        assert client.get(link).status_code == 302, link
    assert client.get("/").status_code == 302
    assert client.get("/").headers["Location"] == "/admin/"


def test_favicon_is_served_and_linked(admin_client, client):
    assert finders.find("favicon.ico") is not None
    response = client.get("/favicon.ico")
    assert response.status_code == 302  # not permanent: the hashed static name changes with the file
    assert response.headers["Location"].endswith("favicon.ico") and response.headers["Location"] != "/favicon.ico"
    for page in ("/admin/", "/admin/payments/payment/", "/admin/login/"):
        client_ = admin_client if page != "/admin/login/" else client
        text = client_.get(page).content.decode()
        assert re.search(r'<link rel="icon" href="[^"]*favicon\.ico"', text), page


def test_second_factor_apps_have_readable_names(admin_client):
    assert apps.get_model("accounts", "BackupCodeDevice")._meta.verbose_name_plural == "backup codes"
    assert apps.get_model("accounts", "StaffTOTPDevice")._meta.verbose_name_plural == "authenticator apps (TOTP)"
    page = admin_client.get("/admin/").content.decode()
    assert "Backup codes" in page and "Authenticator apps (TOTP)" in page
    assert "Otp_" not in page and "OTP_" not in page


def test_every_model_has_a_proper_plural():
    bad = []
    for model in apps.get_models():
        name, plural = str(model._meta.verbose_name), str(model._meta.verbose_name_plural)
        # Django's default plural adds an "s": wrong after s, x, z, ch and sh.
        if plural == name + "s" and re.search(r"(s|x|z|ch|sh)$", name):
            bad.append(f"{model._meta.label}: {plural}")
    assert bad == []
    from payments.models import ReconciliationMismatch

    assert ReconciliationMismatch._meta.verbose_name_plural == "reconciliation mismatches"


OURS = {"core", "accounts", "approvals", "wallets", "payments", "subscriptions", "compliance", "monitoring",
        "mcp_gateway"}
DEVELOPER_WORDS = re.compile(r"\.py\b|minor units|`|\bnull\b|\brow\b|lookup|ISO 3166|\bsee [a-z_]+\.", re.I)


def test_help_text_speaks_to_staff():
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in OURS:
            continue
        for field in model._meta.get_fields():
            text = str(getattr(field, "help_text", "") or "")
            if text and DEVELOPER_WORDS.search(text):
                found.append(f"{model._meta.label}.{field.name}: {text}")
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OURS:
            continue
        form = getattr(model_admin, "form", None)
        for name, field in getattr(form, "base_fields", {}).items():
            if field.help_text and DEVELOPER_WORDS.search(str(field.help_text)):
                found.append(f"{model._meta.label} form.{name}: {field.help_text}")
    assert found == []
