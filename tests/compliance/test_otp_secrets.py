"""The second factor's secrets at rest (issue 15): the TOTP seed is AES-256-GCM ciphertext in its column
(and re-encrypted by `rotate_field_keys`), backup codes are kept only as HMAC digests and work once, and
the migration moves django-otp's own devices (seed and codes in clear) into these models."""

import importlib
import io
import json
import time

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django_otp import devices_for_user, match_token
from django_otp.oath import TOTP

from accounts import services
from accounts.models import BackupCode, BackupCodeDevice, StaffTOTPDevice, backup_code_digest
from core.crypto import _fingerprint, decrypt, new_key, parse_keys

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SEED = "3132333435363738393031323334353637383930"  # RFC 6238's test seed, hex
move = importlib.import_module("accounts.migrations.0006_move_django_otp_devices").move_django_otp_devices


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall() if cursor.description else []


def code_at(device, at):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def staff(roles, system_actor):
    return services.staff_user_create(actor=system_actor, username="alice", password=PASSWORD, role="admin")


def test_the_seed_column_holds_ciphertext_that_opens_to_the_seed(staff):
    device = staff.totp_device
    [(stored,)] = raw("SELECT key FROM accounts_stafftotpdevice WHERE id = %s", [device.pk])
    assert stored.startswith("v1:") and device.key not in stored
    assert decrypt(stored) == device.key == StaffTOTPDevice.objects.get(pk=device.pk).key
    assert len(device.key) == 40 and int(device.key, 16) >= 0


def test_a_totp_code_works_once_and_django_otp_finds_only_our_devices(staff):
    assert {type(d) for d in devices_for_user(staff.user)} == {StaffTOTPDevice, BackupCodeDevice}
    code = code_at(staff.totp_device, time.time())
    assert match_token(staff.user, code) == staff.totp_device
    assert match_token(staff.user, code) is None  # last_t: the same code is never accepted twice
    device = StaffTOTPDevice.objects.get(pk=staff.totp_device.pk)
    assert device.last_t == int(time.time()) // 30 or device.last_t == int(time.time()) // 30 - 1


def test_backup_codes_are_stored_only_as_digests_and_work_once(staff):
    codes = staff.backup_codes
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = [digest for (digest,) in raw("SELECT digest FROM accounts_backupcode ORDER BY id")]
    assert sorted(stored) == sorted(backup_code_digest(c) for c in codes)
    assert not set(codes) & set(stored)
    device = BackupCodeDevice.objects.get(user=staff.user)
    assert device.verify_token(codes[3].upper())  # case is ignored
    assert not device.verify_token(codes[3])  # consumed
    assert BackupCode.objects.filter(device=device).count() == 9
    assert not BackupCode.objects.filter(digest=backup_code_digest(codes[3])).exists()


def test_rotate_field_keys_re_encrypts_the_seed(settings, staff):
    old, new = settings.FIELD_ENCRYPTION_KEYS, new_key()
    seed = staff.totp_device.key
    settings.FIELD_ENCRYPTION_KEYS = f"{new},{old}"
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    result = json.loads(out.getvalue())
    assert result["fields"]["accounts.StaffTOTPDevice.key"] == {"rows": 1, "reencrypted": 1, "current": 0,
                                                               "unreadable": []}
    settings.FIELD_ENCRYPTION_KEYS = new  # the old key can go
    [(stored,)] = raw("SELECT key FROM accounts_stafftotpdevice WHERE id = %s", [staff.totp_device.pk])
    assert stored.split(":")[1] == _fingerprint(parse_keys(new)[0])
    device = StaffTOTPDevice.objects.get(pk=staff.totp_device.pk)
    assert device.key == seed
    assert device.verify_token(code_at(device, time.time()))


def _old_tables(user_id):
    """django-otp's tables as its plugins left them (the columns the migration reads), with one device each."""
    raw("CREATE TABLE otp_totp_totpdevice (id integer PRIMARY KEY, user_id bigint NOT NULL, "
        "name varchar(64) NOT NULL, confirmed boolean NOT NULL, key varchar(80) NOT NULL, step smallint NOT NULL, "
        "t0 bigint NOT NULL, digits smallint NOT NULL, tolerance smallint NOT NULL, drift smallint NOT NULL, "
        "last_t bigint NOT NULL, throttling_failure_count integer NOT NULL)")
    raw("CREATE TABLE otp_static_staticdevice (id integer PRIMARY KEY, user_id bigint NOT NULL, "
        "name varchar(64) NOT NULL, confirmed boolean NOT NULL, throttling_failure_count integer NOT NULL)")
    raw("CREATE TABLE otp_static_statictoken (id integer PRIMARY KEY, device_id integer NOT NULL, "
        "token varchar(16) NOT NULL)")
    raw("INSERT INTO otp_totp_totpdevice VALUES (7, %s, 'default', %s, %s, 30, 0, 6, 1, 0, 5, 2)",
        [user_id, True, SEED])
    raw("INSERT INTO otp_static_staticdevice VALUES (9, %s, 'backup', %s, 0)", [user_id, True])
    raw("INSERT INTO otp_static_statictoken VALUES (1, 9, 'abcd2345'), (2, 9, 'efgh6723')")
    raw("INSERT INTO django_migrations (app, name, applied) VALUES ('otp_totp', '0001_initial', %s)",
        ["2026-01-01 00:00:00"])


def test_the_migration_moves_django_otp_devices_and_drops_their_tables(make_staff):
    user = make_staff(username="legacy")
    _old_tables(user.pk)
    moved = move(apps, connection)
    assert moved == {"totp_devices": 1, "backup_devices": 1, "backup_codes": 2}
    assert not {"otp_totp_totpdevice", "otp_static_staticdevice", "otp_static_statictoken"} & set(
        connection.introspection.table_names())
    assert raw("SELECT COUNT(*) FROM django_migrations WHERE app IN ('otp_totp', 'otp_static')") == [(0,)]

    device = StaffTOTPDevice.objects.get(user=user)
    assert (device.name, device.confirmed, device.key, device.last_t, device.throttling_failure_count) == (
        "default", True, SEED, 5, 2)
    [(stored,)] = raw("SELECT key FROM accounts_stafftotpdevice WHERE id = %s", [device.pk])
    assert stored.startswith("v1:") and SEED not in stored
    # RFC 6238's vector: at 59 s the 8-digit code is 94287082, the 6-digit one 287082.
    assert code_at(device, 59) == "287082"
    device.throttling_failure_count = 0
    device.save()
    assert match_token(user, code_at(device, time.time())) == device

    backup = BackupCodeDevice.objects.get(user=user)
    assert sorted(backup.codes.values_list("digest", flat=True)) == sorted(
        [backup_code_digest("abcd2345"), backup_code_digest("efgh6723")])
    assert match_token(user, "efgh6723") == backup
    assert match_token(user, "efgh6723") is None
    assert backup.codes.count() == 1


def test_the_migration_does_nothing_without_the_old_tables(make_staff):
    make_staff(username="fresh")
    assert move(apps, connection) == {"totp_devices": 0, "backup_devices": 0, "backup_codes": 0}
    assert not StaffTOTPDevice.objects.exists() and not BackupCodeDevice.objects.exists()
