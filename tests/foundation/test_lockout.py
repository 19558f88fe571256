import datetime as dt

import pytest
import time_machine
from django.test import Client

from accounts.models import LoginThrottle
from core.models import AuditEvent

from .conftest import PASSWORD, totp_now

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)


def login(username, password, device=None, at=None):
    client = Client()
    r = client.post("/admin/login/", {"username": username, "password": password})
    if device is not None and r.status_code == 302:
        r = client.post("/admin/login/verify/", {"otp_token": totp_now(device, at)})
    return client, r


def fully_logged_in(client):
    return client.get("/admin/").status_code == 200


def test_ten_wrong_passwords_lock_the_username_for_30_minutes(staff_with_otp):
    created = staff_with_otp()
    other = staff_with_otp()
    name = created.user.username
    with time_machine.travel(START, tick=False):
        for _ in range(9):
            _, r = login(name, "wrong password!!")
            assert r.status_code == 200
        client, _ = login(name, PASSWORD, created.totp_device, START.timestamp())
        assert fully_logged_in(client)  # nine failures do not lock; success resets the count
        for _ in range(10):
            login(name, "wrong password!!")
        throttle = LoginThrottle.objects.get(username=name)
        assert throttle.locked_until == START + dt.timedelta(minutes=30)
        client, r = login(name, PASSWORD)
        assert r.status_code == 403
        assert b"locked" in r.content
        assert not fully_logged_in(client)
        # Per username: someone else is not affected.
        client, _ = login(other.user.username, PASSWORD, other.totp_device, START.timestamp())
        assert fully_logged_in(client)
    with time_machine.travel(START + dt.timedelta(minutes=29, seconds=59), tick=False):
        client, r = login(name, PASSWORD)
        assert r.status_code == 403
    later = START + dt.timedelta(minutes=30, seconds=30)
    with time_machine.travel(later, tick=False):
        client, _ = login(name, PASSWORD, created.totp_device, later.timestamp())
        assert fully_logged_in(client)
    assert AuditEvent.objects.filter(action="login.password_failed", object_id=name).count() == 19


def test_failed_second_factors_count_towards_the_lockout(staff_with_otp):
    created = staff_with_otp()
    name = created.user.username
    with time_machine.travel(START, tick=False):
        client = Client()
        client.post("/admin/login/", {"username": name, "password": PASSWORD})
        wrong = "999999" if totp_now(created.totp_device) != "999999" else "888888"
        for _ in range(9):
            r = client.post("/admin/login/verify/", {"otp_token": wrong})
            assert r.status_code == 200
        r = client.post("/admin/login/verify/", {"otp_token": wrong})
        assert (r.status_code, r["Location"]) == (302, "/admin/login/")
        assert LoginThrottle.objects.get(username=name).locked_until == START + dt.timedelta(minutes=30)
        # The right code no longer helps: the pending login was dropped and the password step refuses.
        r = client.post("/admin/login/verify/", {"otp_token": totp_now(created.totp_device)})
        assert r.status_code == 302 and r["Location"] == "/admin/login/"
        client, r = login(name, PASSWORD)
        assert r.status_code == 403
        assert not fully_logged_in(client)
    assert AuditEvent.objects.filter(action="login.otp_failed", object_id=name).count() == 10


def test_failed_enrolment_codes_count_towards_the_lockout(make_staff):
    from accounts.models import StaffTOTPDevice

    name = make_staff(role="operator", password=PASSWORD).username
    with time_machine.travel(START, tick=False):
        client = Client()
        r = client.post("/admin/login/", {"username": name, "password": PASSWORD})
        assert r["Location"] == "/admin/login/enroll/"
        client.get("/admin/login/enroll/")
        device = StaffTOTPDevice.objects.get(user__username=name, confirmed=False)
        wrong = "999999" if totp_now(device) != "999999" else "888888"
        for _ in range(9):
            assert client.post("/admin/login/enroll/", {"otp_token": wrong}).status_code == 200
        r = client.post("/admin/login/enroll/", {"otp_token": wrong})
        assert (r.status_code, r["Location"]) == (302, "/admin/login/")
        assert LoginThrottle.objects.get(username=name).locked_until == START + dt.timedelta(minutes=30)
        # The pending login was dropped: the right code no longer enrols anything.
        r = client.post("/admin/login/enroll/", {"otp_token": totp_now(device)})
        assert (r.status_code, r["Location"]) == (302, "/admin/login/")
        assert not StaffTOTPDevice.objects.filter(user__username=name, confirmed=True).exists()
        assert not fully_logged_in(client)
    assert AuditEvent.objects.filter(action="login.otp_failed", object_id=name).count() == 10


def test_mixed_password_and_otp_failures(staff_with_otp):
    created = staff_with_otp()
    name = created.user.username
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            login(name, "wrong password!!")
        client = Client()
        client.post("/admin/login/", {"username": name, "password": PASSWORD})
        for _ in range(5):
            client.post("/admin/login/verify/", {"otp_token": "000001"})
        assert LoginThrottle.objects.get(username=name).locked_until is not None
        _, r = login(name, PASSWORD)
        assert r.status_code == 403


def test_unknown_usernames_are_locked_too(db):
    with time_machine.travel(START, tick=False):
        for _ in range(10):
            login("nobody-here", "whatever-password")
        assert LoginThrottle.objects.get(username="nobody-here").locked_until == START + dt.timedelta(minutes=30)


def test_lockout_is_case_insensitive(staff_with_otp):
    created = staff_with_otp(username="casey")
    with time_machine.travel(START, tick=False):
        for i in range(10):
            login("CASEY" if i % 2 else "casey", "wrong password!!")
        _, r = login("casey", PASSWORD)
        assert r.status_code == 403
    assert created.user.username == "casey"
