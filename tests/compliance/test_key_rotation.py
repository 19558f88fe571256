"""`manage.py rotate_field_keys` re-encrypts every encrypted field under the first key (issue 15,
secrets at rest): every secret stays readable, every ciphertext names the new key, the old key can then
go, and a row no key opens is reported (exit 1), never skipped silently."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from core.crypto import _fingerprint, encrypted_fields, new_key, parse_keys
from core.models import AuditEvent
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_create, webhook_endpoint_rotate_secret

pytestmark = pytest.mark.django_db


def stored(endpoint, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM webhooks_webhookendpoint WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()[0]


def rotate():
    out = io.StringIO()
    call_command("rotate_field_keys", "--batch-size", "2", stdout=out)
    return json.loads(out.getvalue())


def fp(key):
    return _fingerprint(parse_keys(key)[0])


def test_every_encrypted_field_is_listed():
    assert [(m._meta.label, f.name) for m, f in encrypted_fields()] == [
        ("accounts.StaffTOTPDevice", "key"), ("webhooks.WebhookEndpoint", "previous_secret"),
        ("webhooks.WebhookEndpoint", "secret")]


def test_rotation_moves_every_secret_to_the_new_key(settings, actor):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = old
    endpoints = [webhook_endpoint_create(actor=actor, url=f"https://93.184.216.34/h{i}") for i in range(5)]
    webhook_endpoint_rotate_secret(actor=actor, endpoint_id=endpoints[0].pk)
    secrets = {e.pk: (e.secret, e.previous_secret) for e in WebhookEndpoint.objects.all()}
    assert secrets[endpoints[0].pk][1] is not None
    assert {stored(e, "secret").split(":")[1] for e in endpoints} == {fp(old)}

    settings.FIELD_ENCRYPTION_KEYS = f"{new},{old}"
    before = set(AuditEvent.objects.values_list("pk", flat=True))  # append-only: nothing is deleted
    result = rotate()
    assert result == {"current_key": fp(new), "unreadable": 0, "fields": {
        "accounts.StaffTOTPDevice.key": {"rows": 0, "reencrypted": 0, "current": 0, "unreadable": []},
        "webhooks.WebhookEndpoint.previous_secret": {"rows": 1, "reencrypted": 1, "current": 0, "unreadable": []},
        "webhooks.WebhookEndpoint.secret": {"rows": 5, "reencrypted": 5, "current": 0, "unreadable": []}}}
    assert {e.pk: (e.secret, e.previous_secret) for e in WebhookEndpoint.objects.all()} == secrets
    for endpoint in endpoints:
        assert stored(endpoint, "secret").split(":")[1] == fp(new)
    assert stored(endpoints[0], "previous_secret").split(":")[1] == fp(new)
    # Audited as the task, one event per batch rewritten (batches of 2: 5 rows -> 3, 1 row -> 1).
    events = AuditEvent.objects.filter(action="field_keys.rotated").exclude(pk__in=before)
    assert sorted((e.details["field"], e.details["rows"]) for e in events) == [
        ("previous_secret", 1), ("secret", 1), ("secret", 2), ("secret", 2)]
    assert {(e.actor_type, e.actor_id, e.actor_label) for e in events} == {
        ("task", "rotate_field_keys", "task:rotate_field_keys")}

    # Idempotent: a second run rewrites nothing.
    again = rotate()
    assert again["fields"]["webhooks.WebhookEndpoint.secret"] == {"rows": 5, "reencrypted": 0, "current": 5,
                                                                 "unreadable": []}
    assert events.count() == 4

    # The old key can go.
    settings.FIELD_ENCRYPTION_KEYS = new
    assert {e.pk: (e.secret, e.previous_secret) for e in WebhookEndpoint.objects.all()} == secrets


def test_a_row_no_key_opens_is_reported_and_the_command_fails(settings, actor):
    lost, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = lost
    orphan = webhook_endpoint_create(actor=actor, url="https://93.184.216.34/lost")
    settings.FIELD_ENCRYPTION_KEYS = new
    kept = webhook_endpoint_create(actor=actor, url="https://93.184.216.34/kept")
    before = (stored(orphan, "secret"), stored(kept, "secret"))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("rotate_field_keys", stdout=out, stderr=err)
    assert exit_info.value.code == 1
    result = json.loads(out.getvalue())
    assert result["unreadable"] == 1
    assert result["fields"]["webhooks.WebhookEndpoint.secret"] == {"rows": 2, "reencrypted": 0, "current": 1,
                                                                  "unreadable": [orphan.pk]}
    assert "1 row(s) could not be decrypted" in err.getvalue()
    assert (stored(orphan, "secret"), stored(kept, "secret")) == before
