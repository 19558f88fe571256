"""The call log's arguments as they may be stored (`ToolCall.arguments`): secrets by name, our API keys and card
numbers by value, a card number in a key masked as the request log masks one. Used by every call's log row
(`calls`) and by the scrub of rows written before a rule existed (`services.tool_call_mask_card_numbers`)."""

from __future__ import annotations

import re
from typing import Any

from core.cards import contains_pan
from core.text import UNSTORABLE
from monitoring.redaction import redact_text

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(r"(secret|password|passwd|api_?key|authorization|token|cvc|cvv|card_?number"
                         r"|(^|_)pin($|_)|(^|_)otp($|_))", re.IGNORECASE)
_OUR_KEY = re.compile(r"\bsk_[A-Za-z0-9]{12}_\S+")
_KEEP = {"payment_method"}  # provider tokens (tok_, pm_) are references, not secrets


def redact(value: Any, key: str = "") -> Any:
    """Arguments as they may be stored: secrets by name, API keys and card numbers by value."""
    if key and key not in _KEEP and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, dict):
        # Keys as the request log stores them: a card number or secret in an argument's name masked.
        return {redact_text(str(k)): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        if contains_pan(value):
            return REDACTED
        return _OUR_KEY.sub(REDACTED, UNSTORABLE.sub("\ufffd", value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A call refused before its card screening (scope, permission) is logged with these arguments: a card
        # number sent as a JSON number must not reach the log either.
        return REDACTED if contains_pan(getattr(value, "text", None) or str(value)) else value
    return value


def shown(value: Any, limit: int = 128) -> str:
    """Something the caller sent (a tool's or prompt's name, a URI, a method) as an error repeats it: bounded, with a
    card number or secret in it masked as the request log masks one."""
    return redact_text(str(value)[:limit])
