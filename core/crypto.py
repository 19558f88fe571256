"""Field encryption: AES-256-GCM under `FIELD_ENCRYPTION_KEYS`.

The setting is a comma-separated list of keys, each the base64 of 32 random bytes: the first
encrypts, every one decrypts (so a new key goes first and the old one stays until the rows are
re-encrypted). A ciphertext names its key by a short fingerprint, so decryption picks the right key
without trying each. Stored form: `v1:<key fingerprint>:<base64 of nonce | ciphertext+tag>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

VERSION = "v1"
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A stored ciphertext that none of the configured keys opens (or that was altered)."""


def parse_keys(value: str | list[str] | tuple[str, ...]) -> list[bytes]:
    """The keys of a FIELD_ENCRYPTION_KEYS value; ImproperlyConfigured for anything but 32-byte keys."""
    items = value.split(",") if isinstance(value, str) else list(value)
    keys = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            key = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS: each key is the base64 of 32 bytes.") from None
        if len(key) != 32:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS: each key is the base64 of 32 bytes.")
        keys.append(key)
    return keys


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"field-encryption-key:" + key).hexdigest()[:8]


def _keys() -> list[bytes]:
    keys = parse_keys(getattr(settings, "FIELD_ENCRYPTION_KEYS", ""))
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set: no field can be encrypted or read.")
    return keys


def encrypt(plaintext: str, *, associated: str = "") -> str:
    """Encrypts under the first key. `associated` (e.g. the row's id) is authenticated, not stored:
    a ciphertext copied to another row does not open there."""
    key = _keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), associated.encode())
    return f"{VERSION}:{_fingerprint(key)}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str, *, associated: str = "") -> str:
    try:
        version, fingerprint, body = stored.split(":", 2)
        raw = base64.b64decode(body, validate=True)
    except (ValueError, binascii.Error):
        raise DecryptionFailed("not an encrypted value") from None
    if version != VERSION:
        raise DecryptionFailed(f"unknown version {version}")
    for key in _keys():
        if _fingerprint(key) == fingerprint:
            try:
                return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated.encode()).decode()
            except InvalidTag:
                raise DecryptionFailed("the ciphertext was altered or belongs elsewhere") from None
    raise DecryptionFailed("no configured key matches")


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored encrypted (`encrypt`), read back in clear. The database never sees the clear text;
    admin and serializers must still never show it."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)


def fingerprint_of(stored: str) -> str:
    """The key fingerprint a stored ciphertext names ('' when it is not one of ours)."""
    parts = stored.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == VERSION else ""


def current_fingerprint() -> str:
    """The fingerprint of the key that encrypts now (the first of FIELD_ENCRYPTION_KEYS)."""
    return _fingerprint(_keys()[0])


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) stored encrypted, of every installed app, by model label then field name:
    what `rotate_field_keys` re-encrypts and the PCI "secrets encrypted at rest" check lists."""
    from django.apps import apps

    found = [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
             if isinstance(field, EncryptedTextField)]
    return sorted(found, key=lambda pair: (pair[0]._meta.label, pair[1].name))
