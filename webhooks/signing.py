"""Standard Webhooks signatures (https://www.standardwebhooks.com): integrators verify deliveries with
the `standardwebhooks` library or Svix's, in any language.

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under the secret's 32 bytes;
several space-separated signatures while a rotated secret's overlap lasts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)}
