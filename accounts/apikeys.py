"""API key format and hashing. Format: `sk_<12 visible chars>_<43 secret chars>`."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

from core.ids import random_chars

PREFIX_RANDOM_LENGTH = 12


def generate() -> tuple[str, str]:
    """A new (prefix, full key). The secret part is 32 random bytes."""
    prefix = f"sk_{random_chars(PREFIX_RANDOM_LENGTH)}"
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def split(raw_key: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "sk" or len(parts[1]) != PREFIX_RANDOM_LENGTH or len(parts[2]) < 20:
        return None
    return f"sk_{parts[1]}"


def hash_key(raw_key: str) -> str:
    return hmac.new(settings.API_KEY_HMAC_SECRET.encode(), raw_key.encode(), hashlib.sha256).hexdigest()


def matches(raw_key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(raw_key), stored_hash)
