"""Refusing raw card numbers anywhere in a request (PCI DSS: we never store or log them)."""

from __future__ import annotations

import re
from typing import Any

from .errors import RawCardDataNotAllowed

# 13-19 digits starting with 2-6, single spaces or hyphens allowed between digits.
_CANDIDATE = re.compile(r"(?<!\d)[2-6](?:[ -]?\d){12,18}(?!\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def contains_pan(text: str) -> bool:
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return True
    return False


def find_pan_field(data: Any, path: str = "") -> str | None:
    """The dotted path of the first key or value that holds a card number, or None."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and contains_pan(key):
                return here
            found = find_pan_field(value, here)
            if found:
                return found
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            found = find_pan_field(value, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(data, str):
        return path or "body" if contains_pan(data) else None
    elif isinstance(data, int) and not isinstance(data, bool):
        return find_pan_field(str(data), path)
    return None


def refuse_card_data(data: Any) -> None:
    field = find_pan_field(data)
    if field:
        raise RawCardDataNotAllowed(details={"field": field})
