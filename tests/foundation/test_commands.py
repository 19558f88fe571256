import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts import apikeys
from accounts.models import ApiKey, BackupCode, Customer, StaffTOTPDevice, User, backup_code_digest

from .conftest import totp_now

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue().splitlines()


def test_create_staff_user_prints_the_otpauth_uri_last(roles):
    lines = run("create_staff_user", "--username", "alice", "--password", "a long enough password", "--role",
                "finance")
    user = User.objects.get(username="alice")
    device = StaffTOTPDevice.objects.get(user=user)
    assert lines[-1] == device.config_url
    assert lines[-1].startswith("otpauth://totp/")
    assert device.confirmed
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["finance"]
    assert user.check_password("a long enough password")
    codes = next(line for line in lines if line.startswith("Backup codes")).split(": ", 1)[1].split()
    assert sorted(backup_code_digest(c) for c in codes) == sorted(
        BackupCode.objects.filter(device__user=user).values_list("digest", flat=True))
    assert len(codes) == 10


def test_create_staff_user_refuses_short_password_and_unknown_role(roles):
    with pytest.raises(CommandError, match="weak_password"):
        run("create_staff_user", "--username", "bob", "--password", "short", "--role", "support")
    with pytest.raises(CommandError):
        run("create_staff_user", "--username", "bob", "--password", "a long enough password", "--role", "root")
    assert not User.objects.filter(username="bob").exists()


def test_create_staff_user_twice_needs_reset(roles):
    run("create_staff_user", "--username", "carol", "--password", "a long enough password", "--role", "support")
    first = StaffTOTPDevice.objects.get(user__username="carol").key
    with pytest.raises(CommandError, match="already exists"):
        run("create_staff_user", "--username", "carol", "--password", "a long enough password", "--role", "support")
    lines = run("create_staff_user", "--username", "carol", "--password", "another long password", "--role",
                "operator", "--reset")
    device = StaffTOTPDevice.objects.get(user__username="carol")
    assert device.key != first
    assert lines[-1] == device.config_url
    user = User.objects.get(username="carol")
    assert list(user.groups.values_list("name", flat=True)) == ["operator"]
    assert user.check_password("another long password")


def test_totp_code_prints_the_current_code(roles):
    run("create_staff_user", "--username", "dave", "--password", "a long enough password", "--role", "admin")
    device = StaffTOTPDevice.objects.get(user__username="dave")
    assert run("totp_code", "dave") == [totp_now(device)]


def test_create_api_key_prints_the_key_alone_last(make_staff):
    owner = make_staff(role="operator", username="integrator")
    lines = run("create_api_key", "--user", "integrator", "--scopes", "payments:write,wallets:read", "--name",
                "shop", "--expires-days", "30")
    raw = lines[-1]
    assert raw == raw.strip() and " " not in raw
    key = ApiKey.objects.get()
    assert apikeys.split(raw) == key.prefix
    assert key.secret_hash == apikeys.hash_key(raw)
    assert (key.name, key.owner, key.scopes) == ("shop", owner, ["payments:write", "wallets:read"])
    assert (key.expires_at - key.created).days == 30
    assert raw not in "\n".join(lines[:-1])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/customers").status_code == 200


def test_create_api_key_refuses_bad_scopes(make_staff):
    make_staff(username="integrator2")
    with pytest.raises(CommandError, match="invalid_scopes"):
        run("create_api_key", "--user", "integrator2", "--scopes", "payments:everything")
    with pytest.raises(CommandError, match="No active user"):
        run("create_api_key", "--user", "ghost", "--scopes", "*")
    assert not ApiKey.objects.exists()


def _snapshot():
    return sorted(Customer.objects.values_list("id", "email", "name", "country", "status", "metadata"))


def test_seed_demo_twice_gives_the_same_data(roles, monkeypatch):
    from payments import demo as payments_demo
    from subscriptions import demo as subscriptions_demo

    # Every app's seed runs, on less history than `make run` makes (2,000 payments, 150 signups over a
    # year), to keep CI's time: idempotence does not depend on the volume.
    monkeypatch.setattr(payments_demo, "PAYMENT_COUNT", 300)
    monkeypatch.setattr(subscriptions_demo, "SIGNUPS", 40)
    monkeypatch.setattr(subscriptions_demo, "DAYS", 120)
    run("seed_demo")
    first = _snapshot()
    assert len(first) == 52
    assert {c[1] for c in first} == ({f"customer{i:03d}@demo.example" for i in range(40)}
                                     | {f"signup{i:03d}@new.demo.example" for i in range(12)})
    lines = run("seed_demo")
    assert _snapshot() == first
    assert any("0 created, 52 already there" in line for line in lines)


def test_seed_demo_customers_are_deterministic(roles):
    # Two seeds from an empty database (each rolled back) make the same customers.
    import random

    from django.db import transaction

    from accounts import demo

    snapshots = []
    for _ in range(2):
        with transaction.atomic():
            demo.seed(rng=random.Random("20261126:accounts"), stdout=io.StringIO())
            snapshots.append(sorted(Customer.objects.values_list("email", "name", "country", "metadata")))
            transaction.set_rollback(True)
    assert len(snapshots[0]) == 52
    assert snapshots[0] == snapshots[1]


def test_the_database_checks_report_nothing_and_silence_only_w040_on_sqlite():
    """make run's migrate printed four models.W040 warnings (SQLite ignores an index's INCLUDE columns, a
    PostgreSQL-only optimisation); silenced in the SQLite settings, they must be the only thing silenced."""
    from django.apps import apps
    from django.db import connection

    covering = [m for m in apps.get_models() if any(index.include for index in m._meta.indexes)]
    assert sorted(m._meta.label for m in covering) == [
        "payments.Payment", "payments.PaymentAttempt", "subscriptions.SubscriptionEvent", "wallets.Posting"]
    out = io.StringIO()
    call_command("check", "--database", "default", stdout=out, stderr=io.StringIO())
    silenced = len(covering) if connection.vendor == "sqlite" else 0
    assert out.getvalue() == f"System check identified no issues ({silenced} silenced).\n"
