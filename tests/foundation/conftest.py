import time

import pytest
from django_otp.oath import TOTP

from accounts import services
from accounts.models import StaffTOTPDevice

PASSWORD = "correct horse battery staple"


def totp_now(device: StaffTOTPDevice, at: float | None = None) -> str:
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
def admin_client_for(staff_with_otp, verified_client):
    """A browser session that has passed password and second factor, of a user made by the service."""

    def make(role="admin"):
        created = staff_with_otp(role=role)
        return verified_client(created.user, created.totp_device)

    return make
