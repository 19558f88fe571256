import time

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services

PASSWORD = "correct horse battery staple"


def totp_now(device: TOTPDevice, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def staff_with_otp(roles, system_actor):
    """A staff user with a confirmed TOTP device and backup codes, made by the service."""
    counter = iter(range(10_000))

    def make(role="admin", username=None):
        created = services.staff_user_create(actor=system_actor, username=username or f"otp{next(counter)}",
                                             password=PASSWORD, role=role)
        return created

    return make


@pytest.fixture
def admin_client_for(staff_with_otp):
    """A browser session that has passed password and second factor (as OTPMiddleware sees it)."""

    def make(role="admin"):
        created = staff_with_otp(role=role)
        client = Client()
        client.force_login(created.user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = created.totp_device.persistent_id
        session.save()
        client.user = created.user
        return client

    return make
