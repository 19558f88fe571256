"""Moves django-otp's own devices (`otp_totp`, `otp_static`, which kept the TOTP seed and the backup codes
in clear) into `accounts.StaffTOTPDevice` (seed encrypted under FIELD_ENCRYPTION_KEYS) and
`accounts.BackupCodeDevice` / `BackupCode` (each code as its HMAC digest), then drops their tables and
their migration records, content types and permissions: the plugins are no longer installed, and no clear secret stays behind.

The old tables are read with SQL (their apps are not installed, so they have no models here); a database
created after this change never had them and nothing is done. Not reversible: the codes are hashed.
"""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations

OLD_TOTP, OLD_STATIC_DEVICE, OLD_STATIC_TOKEN = "otp_totp_totpdevice", "otp_static_staticdevice", "otp_static_statictoken"
DEVICE_COLUMNS = ("user_id", "name", "confirmed", "throttling_failure_timestamp", "throttling_failure_count",
                  "created_at", "last_used_at")
TOTP_COLUMNS = ("key", "step", "t0", "digits", "tolerance", "drift", "last_t")


def _digest(code: str) -> str:
    # accounts.models.backup_code_digest as of this migration.
    message = b"otp-backup-code:" + code.strip().lower().encode()
    return hmac.new(settings.API_KEY_HMAC_SECRET.encode(), message, hashlib.sha256).hexdigest()


def _rows(connection, table, wanted):
    columns = {c.name for c in connection.introspection.get_table_description(connection.cursor(), table)}
    chosen = ["id", *(c for c in wanted if c in columns)]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(quote(c) for c in chosen)} FROM {quote(table)} ORDER BY id")
        return [dict(zip(chosen, row, strict=True)) for row in cursor.fetchall()]


def move_django_otp_devices(apps, connection) -> dict[str, int]:
    """Copies every old device and token, then drops the old tables; returns what it moved."""
    tables = set(connection.introspection.table_names())
    moved = {"totp_devices": 0, "backup_devices": 0, "backup_codes": 0}
    quote = connection.ops.quote_name
    if OLD_TOTP in tables:
        totp_model = apps.get_model("accounts", "StaffTOTPDevice")
        for row in _rows(connection, OLD_TOTP, DEVICE_COLUMNS + TOTP_COLUMNS):
            row.pop("id")
            totp_model.objects.create(**row)  # the key is encrypted by its field
            moved["totp_devices"] += 1
    if OLD_STATIC_DEVICE in tables:
        device_model = apps.get_model("accounts", "BackupCodeDevice")
        code_model = apps.get_model("accounts", "BackupCode")
        tokens: dict[int, list[str]] = {}
        if OLD_STATIC_TOKEN in tables:
            for row in _rows(connection, OLD_STATIC_TOKEN, ("device_id", "token")):
                tokens.setdefault(row["device_id"], []).append(row["token"])
        for row in _rows(connection, OLD_STATIC_DEVICE, DEVICE_COLUMNS):
            device = device_model.objects.create(**{k: v for k, v in row.items() if k != "id"})
            codes = [code_model(device=device, digest=_digest(token)) for token in tokens.get(row["id"], [])]
            code_model.objects.bulk_create(codes)
            moved["backup_devices"] += 1
            moved["backup_codes"] += len(codes)
    with connection.cursor() as cursor:
        for table in (OLD_STATIC_TOKEN, OLD_STATIC_DEVICE, OLD_TOTP):
            if table in tables:
                cursor.execute(f"DROP TABLE {quote(table)}")
        if "django_migrations" in tables:
            cursor.execute("DELETE FROM django_migrations WHERE app IN ('otp_totp', 'otp_static')")
    # Their content types and permissions (granted by the roles) name models that no longer exist.
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label__in=["otp_totp", "otp_static"]).delete()
    return moved


def forwards(apps, schema_editor):
    move_django_otp_devices(apps, schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_second_factor_devices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
