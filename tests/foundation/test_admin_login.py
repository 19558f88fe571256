"""The admin is behind a second factor: password alone reaches nothing."""

import base64
import datetime as dt

import pytest
import time_machine
from django.test import Client

from accounts import services
from accounts.models import BackupCode, LoginThrottle, StaffTOTPDevice, backup_code_digest
from core.models import AuditEvent

from .conftest import PASSWORD, totp_now

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/admin/", "/admin/accounts/customer/", "/admin/accounts/apikey/", "/admin/accounts/user/"]


def password_step(client, username, password=PASSWORD):
    return client.post("/admin/login/", {"username": username, "password": password})


def assert_not_in_admin(client):
    for page in ADMIN_PAGES:
        r = client.get(page)
        assert r.status_code == 302, page
        assert r["Location"].startswith("/admin/login/"), page


def test_anonymous_is_sent_to_login(client):
    assert_not_in_admin(client)
    r = client.get("/admin/login/")
    assert r.status_code == 200
    assert b'name="password"' in r.content


def test_password_alone_is_not_enough(staff_with_otp):
    created = staff_with_otp()
    client = Client()
    r = password_step(client, created.user.username)
    assert (r.status_code, r["Location"]) == (302, "/admin/login/verify/")
    assert "_auth_user_id" not in client.session
    assert_not_in_admin(client)


def test_password_then_totp_reaches_the_admin(staff_with_otp):
    created = staff_with_otp()
    client = Client()
    password_step(client, created.user.username)
    r = client.post("/admin/login/verify/", {"otp_token": totp_now(created.totp_device)})
    assert (r.status_code, r["Location"]) == (302, "/admin/")
    for page in ADMIN_PAGES:
        assert client.get(page).status_code == 200, page
    assert AuditEvent.objects.filter(action="login.succeeded", actor_id=str(created.user.pk)).count() == 1


def test_force_login_without_otp_verification_is_not_enough(staff_with_otp):
    """Even an authenticated session is refused until its device is verified."""
    created = staff_with_otp()
    client = Client()
    client.force_login(created.user)
    assert_not_in_admin(client)


def test_wrong_totp_is_refused_and_counted(staff_with_otp):
    created = staff_with_otp()
    client = Client()
    password_step(client, created.user.username)
    r = client.post("/admin/login/verify/", {"otp_token": "000000" if totp_now(created.totp_device) != "000000"
                                              else "111111"})
    assert r.status_code == 200
    assert b"not valid" in r.content
    assert_not_in_admin(client)
    assert LoginThrottle.objects.get(username=created.user.username).failures == 1


def test_backup_code_works_once(staff_with_otp):
    created = staff_with_otp()
    code = created.backup_codes[0]
    client = Client()
    password_step(client, created.user.username)
    r = client.post("/admin/login/verify/", {"otp_token": code})
    assert r.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert not BackupCode.objects.filter(digest=backup_code_digest(code)).exists()
    assert BackupCode.objects.filter(device__user=created.user).count() == len(created.backup_codes) - 1
    again = Client()
    password_step(again, created.user.username)
    r = again.post("/admin/login/verify/", {"otp_token": code})
    assert r.status_code == 200
    assert_not_in_admin(again)


def test_verify_page_needs_the_password_step_first(staff_with_otp):
    created = staff_with_otp()
    client = Client()
    r = client.post("/admin/login/verify/", {"otp_token": totp_now(created.totp_device)})
    assert (r.status_code, r["Location"]) == (302, "/admin/login/")
    assert_not_in_admin(client)


def test_user_without_device_is_enrolled_with_a_qr_code(make_staff):
    user = make_staff(role="operator", password=PASSWORD)
    client = Client()
    r = password_step(client, user.username)
    assert (r.status_code, r["Location"]) == (302, "/admin/login/enroll/")
    assert_not_in_admin(client)
    page = client.get("/admin/login/enroll/")
    assert page.status_code == 200
    assert b"<svg" in page.content
    device = StaffTOTPDevice.objects.get(user=user, confirmed=False)
    assert page.context["otpauth_uri"] == device.config_url
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert f"secret={secret}" in device.config_url
    assert secret.encode() in page.content
    # A wrong code does not confirm the device.
    bad = client.post("/admin/login/enroll/", {"otp_token": "12345"})
    assert bad.status_code == 200
    assert not StaffTOTPDevice.objects.get(pk=device.pk).confirmed
    # django-otp throttles a device for a second or two after a wrong code.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        r = client.post("/admin/login/enroll/", {"otp_token": totp_now(device, later.timestamp())})
    assert r.status_code == 200
    codes = r.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert code.encode() in r.content
    assert StaffTOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/customer/").status_code == 200


def test_non_staff_cannot_log_in(make_staff):
    user = make_staff(role="operator", password=PASSWORD)
    user.is_staff = False
    user.save()
    client = Client()
    r = password_step(client, user.username)
    assert r.status_code == 200
    assert b"correct username and password" in r.content
    assert client.session.get("bo_2fa_user_id") is None


def test_idle_session_expires_after_15_minutes(staff_with_otp):
    created = staff_with_otp()
    start = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        client = Client()
        password_step(client, created.user.username)
        client.post("/admin/login/verify/", {"otp_token": totp_now(created.totp_device, start.timestamp())})
        assert client.get("/admin/").status_code == 200
    # Activity pushes the expiry forward...
    with time_machine.travel(start + dt.timedelta(minutes=14), tick=False):
        assert client.get("/admin/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=28), tick=False):
        assert client.get("/admin/").status_code == 200
    # ...and 15 idle minutes end it.
    with time_machine.travel(start + dt.timedelta(minutes=43, seconds=1), tick=False):
        r = client.get("/admin/")
        assert r.status_code == 302
        assert r["Location"].startswith("/admin/login/")


def test_session_cookie_settings(settings):
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_logout_ends_the_verified_session(admin_client_for):
    client = admin_client_for("admin")
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout/")
    assert_not_in_admin(client)


def test_password_of_11_characters_is_refused(roles, system_actor):
    with pytest.raises(services.WeakPassword) as exc:
        services.staff_user_create(actor=system_actor, username="shorty", password="Xq7#pLm2vZ9", role="support")
    assert "at least 12 characters" in exc.value.message
    from accounts.models import User

    assert not User.objects.filter(username="shorty").exists()
    created = services.staff_user_create(actor=system_actor, username="longer", password="Xq7#pLm2vZ9w",
                                         role="support")
    assert created.user.check_password("Xq7#pLm2vZ9w")
