"""What the error log and the request log store of free text and JSON: no card number, secret,
credential or personal data, nothing PostgreSQL refuses. One set of rules for both.

Card numbers follow the rule that refuses them at the door (`core.redaction.mask_pans`, then
`core.cards.contains_pan` for what it cannot isolate); e-mail addresses are masked as compliance
exports mask them (`compliance.masking`); values under a secret or personal key name are replaced
whole. Every pattern's repetitions are bounded: an unbounded run before a missing '@' or key name
makes a scan quadratic (a 4,000-digit message once took seconds).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.conf import settings

from compliance.masking import mask_emails_in
from core.cards import contains_pan
from core.redaction import mask_pans
from core.text import UNSTORABLE

REDACTED = "[REDACTED]"
MAX_DEPTH = 16  # deeper JSON is stored as this marker (a request's nesting is bounded at 64 before this)
TOO_DEEP = "[TOO DEEP]"

_SECRET_NAME = re.compile(
    r"password|passwd|passphrase|secret|token|authori[sz]ation|cookie|session|signature|credential"
    r"|(^|_)(api_?)?key$|(^|_)(raw|private|signing|access)_?key|api_?key"
    r"|(^|_)(cvc|cvv|cvv2|cvc2|pin|otp|pan|iban|ssn)($|_)|card"
    # personal data
    r"|e_?mail|phone|mobile|(^|_)(first|last|full|middle|display|holder|user)?_?name$|surname|address"
    r"|street|postcode|postal|(^|_)zip($|_)|birth|(^|_)dob($|_)|national_id|tax_id|passport")
_REFERENCE = re.compile(r"_ids?$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# `password=hunter2`, `"api_key": "..."` inside free text (a message, a traceback's locals).
_SECRET_PAIR = re.compile(
    r"""(?P<key>["']?[\w.-]{0,40}(?:secret|passw(?:or)?d|token|api_?key|authori[sz]ation|cookie|sessionid"""
    r"""|csrftoken|cvc|cvv|private_?key)[\w.-]{0,40}["']?\s{0,10}[:=]\s{0,10})(?P<quote>["']?)"""
    r"""(?P<value>(?:Bearer\s+|Basic\s+)?[^\s"',;&}\]]+)""", re.IGNORECASE)
# The words `_SECRET_PAIR` needs, searched first: its key part tries up to 40 characters at every position
# (~20 us for a timestamp, the commonest text with a ':'), where a search for the bare words costs ~1 us.
_SECRET_PAIR_WORD = re.compile(r"secret|passw(?:or)?d|token|api_?key|authori[sz]ation|cookie|sessionid|csrftoken"
                               r"|cvc|cvv|private_?key", re.IGNORECASE)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=:-]{8,}", re.IGNORECASE)
# Secrets recognisable by their form: our API keys (sk_<prefix>_<secret>), webhook signing secrets,
# Stripe-style keys.
_SECRET_VALUE = re.compile(r"\b(?:sk_[A-Za-z0-9]{8,}_\S+|whsec_[A-Za-z0-9+/=_-]{8,}|(?:sk|rk|pk)_(?:live|test)_"
                           r"[A-Za-z0-9]{8,})")
# A time as the API writes it (2026-11-30T15:00:00.123Z): 14+ digits, never a card number.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)?", re.ASCII)
_PAN_MIN_DIGITS = 13  # the shortest card number: with fewer digits in a text there is none to look for


@functools.lru_cache(maxsize=4096)
def secret_name(name: str) -> bool:
    """Whether a JSON key or field name holds a secret or personal data (`card_id`-style references do not)."""
    normal = _CAMEL.sub("_", name).lower().replace("-", "_")
    return bool(_SECRET_NAME.search(normal)) and not _REFERENCE.search(normal)


def _literal_secrets() -> tuple[str, ...]:
    """This deployment's own secrets, replaced wherever they appear (read once per call of `redact` or
    `redact_text`, not per string: each read of a setting goes through the lazy settings object)."""
    return tuple(secret for secret in (settings.SECRET_KEY, getattr(settings, "API_KEY_HMAC_SECRET", ""))
                 if secret and len(secret) >= 8)


def redact_text(text: str) -> str:
    return _redact_text(text, _literal_secrets())


def _redact_text(text: str, secrets: tuple[str, ...]) -> str:
    if not text:
        return text
    if UNSTORABLE.search(text):
        text = UNSTORABLE.sub("\ufffd", text)
    if (len(text) >= _PAN_MIN_DIGITS and sum(map(str.isdigit, text)) >= _PAN_MIN_DIGITS
            and not _TIMESTAMP.fullmatch(text)):
        text = mask_pans(text)
        if contains_pan(text):  # a number `mask_pans` cannot isolate (invisible characters between digits)
            return REDACTED
    if "@" in text:
        text = mask_emails_in(text)
    if ("=" in text or ":" in text) and _SECRET_PAIR_WORD.search(text):
        text = _SECRET_PAIR.sub(lambda m: f"{m.group('key')}{m.group('quote')}{REDACTED}", text)
    if " " in text:
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if "k_" in text or "whsec_" in text:  # what every form of `_SECRET_VALUE` holds (sk_, rk_, pk_, whsec_)
        text = _SECRET_VALUE.sub(REDACTED, text)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


@functools.lru_cache(maxsize=4096)
def _key_text(name: str) -> str:
    return redact_text(name)


def redact(value: Any, name: str = "", depth: int = 0) -> Any:
    """A JSON value as it may be stored: secrets and personal data by key name, card numbers, e-mails and
    credentials by value."""
    return _redact(value, name, depth, _literal_secrets())


def _redact(value: Any, name: str, depth: int, secrets: tuple[str, ...]) -> Any:
    if name and secret_name(name):
        return REDACTED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return _redact_text(value, secrets)
    if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
        return TOO_DEEP
    if isinstance(value, dict):
        return {_key_text(str(k)): _redact(v, str(k), depth + 1, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, "", depth + 1, secrets) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED if contains_pan(getattr(value, "text", None) or str(value)) else value
    if value is None or isinstance(value, bool):
        return value
    return _redact_text(str(value), secrets)
