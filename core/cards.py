"""Refusing raw card numbers anywhere in a request (PCI DSS: we never store or log them)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import RawCardDataNotAllowed

# 13-19 digits starting with 2-6, single spaces or hyphens allowed between digits.
# Digits glued to a letter are part of a token (a UUID's hex, a hash, an id such as pay_...4242), not a
# card number someone typed: uuid4().hex alone holds a checksum-valid run of 13+ digits in about 1 of 300.
_CANDIDATE = re.compile(r"(?<![\dA-Za-z])[2-6](?:[ -]?\d){12,18}(?![\dA-Za-z])", re.ASCII)
# The same with the other ways people group a card number: dots, underscores, tabs, commas, slashes,
# up to three separators in a row (" - "). A lone dot or comma is a decimal point ("42424242424.24"
# and "42424242424,24" are amounts).
_SEPARATED = re.compile(r"(?<![\dA-Za-z])[2-6](?:[ \t._,/-]{0,3}\d){12,18}(?![\dA-Za-z])", re.ASCII)
_DECIMAL = re.compile(r"[0-9]+[.,][0-9]+", re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]", re.ASCII)
# A calendar date (2025-12-20, 2025/12/20, 2025 12 20): a run of dates ("2025-12-20 - 2026-01-20", an
# invoice line's period) can pass the checksum, but nobody groups a card number 4-2-2.
_DATE = re.compile(r"(?<!\d)(?:19|20)\d\d[ \t._,/-]{1,3}(?:0[1-9]|1[0-2])[ \t._,/-]{1,3}(?:0[1-9]|[12]\d|3[01])(?!\d)",
                   re.ASCII)
# An IPv4 address (a proxy's "203.0.113.195, 70.41.3.18" in X-Forwarded-For, a list of them in metadata): a run of
# addresses passes the checksum about one time in four, but nobody groups a card number in dotted quads.
# They are taken out before looking for card numbers: a candidate can start or end inside one.
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\.?\d)",
                   re.ASCII)
# Non-ASCII characters that matter: other scripts' and fullwidth digits, invisible format
# characters (zero-width space, soft hyphen, BOM) and Unicode spaces and dashes. Anything else
# (letters of any script) is left alone, so ordinary non-ASCII text costs one regex scan.
_FOLD = re.compile(r"(?:(?![0-9])\d)|[\u00ad\u200b-\u200f\u2060\ufeff]"
                   r"|[\u00a0\u2000-\u200a\u202f\u205f\u3000\u2010-\u2015\u2212\ufe58\ufe63\uff0d\uff0e\uff3f]")
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")


def _fold_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _INVISIBLE:
        return ""
    digit = unicodedata.decimal(char, None)
    return str(digit) if digit is not None else "-"


def normalise_digits(text: str) -> str:
    """ASCII digits for every Unicode decimal digit, "-" for Unicode spaces and dashes, and
    invisible characters removed: what a card number looks like once a person reads it."""
    return text if text.isascii() else _FOLD.sub(_fold_char, text)


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


def without_ip_addresses(text: str) -> str:
    """`text` with each IPv4 address replaced by a word, so its digits join no card number."""
    return _IPV4.sub(" ip ", text) if "." in text else text


def iter_pans(text: str) -> Iterator[str]:
    """The digits of each card number in `text` (a number matched by both patterns comes twice):
    for scanners that must say where one is, masked (`mask_pan`), never what it is."""
    text = without_ip_addresses(normalise_digits(text))
    for pattern in (_CANDIDATE, _SEPARATED):
        for match in pattern.finditer(text):
            candidate = match.group()
            if (pattern is _SEPARATED and _DECIMAL.fullmatch(candidate)) or _DATE.search(candidate):
                continue
            digits = _NOT_DIGIT.sub("", candidate)
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                yield digits
            else:
                yield from _grouped_within(candidate)


_GROUP = re.compile(r"[0-9]+", re.ASCII)


def _grouped_within(candidate: str) -> Iterator[str]:
    """A card number written in groups with other digits grouped beside it ("4242 4242 4242 4242 123", a CVV;
    "4242424242424242 03", a month): the patterns take the longest run, which fails the checksum, so each run of
    whole groups inside it that could be a card number is tried too."""
    groups = _GROUP.findall(candidate)
    for first in range(len(groups)):
        if groups[first][0] not in "23456":
            continue
        digits = ""
        for last in range(first, len(groups)):
            digits += groups[last]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and (first, last) != (0, len(groups) - 1) and luhn_ok(digits):
                yield digits


def contains_pan(text: str) -> bool:
    return next(iter_pans(text), None) is not None


def mask_pan(digits: str) -> str:
    """`4242424242424242` -> `…4242`: the last four, as PCI DSS 3.4.1 allows a number to be shown."""
    return f"…{digits[-4:]}"


KEY_WITH_CARD_NUMBER = "<card number>"
_MAX_KEY_SHOWN = 100


def find_pan_field(data: Any, path: str = "") -> str | None:
    """The dotted path of the first key or value that holds a card number, or None. A key holding one is named
    `<card number>` in the path (the path goes back to the caller in the error: the number is not echoed)."""
    if isinstance(data, dict):
        for key, value in data.items():
            text = str(key)
            if contains_pan(text):
                return f"{path}.{KEY_WITH_CARD_NUMBER}" if path else KEY_WITH_CARD_NUMBER
            here = f"{path}.{text[:_MAX_KEY_SHOWN]}" if path else text[:_MAX_KEY_SHOWN]
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


def pan_header(headers: Mapping[str, str]) -> str | None:
    """`headers.<Name>` of the first request header whose name or value holds a card number, or None. No header is
    stored but the idempotency key and the request id (each checked where it is read), yet a card number sent in
    any of them is refused like one in the body: the client is sending card data it must not have."""
    # One scan of them all first (a newline is no separator of a card number's digits, so none spans two): the
    # usual request has none, and this is every request's cost.
    if not contains_pan("\n".join(f"{name}\n{value}" for name, value in headers.items())):
        return None
    for name, value in headers.items():
        if contains_pan(name):
            return f"headers.{KEY_WITH_CARD_NUMBER}"
        if contains_pan(value):
            return f"headers.{name}"
    return None


def refuse_card_data_in_headers(headers: Mapping[str, str]) -> None:
    """The one check of both doors (`core.rest`, `mcp_gateway.views`), each calling it once the API key and its rate
    are checked. Not a middleware (it would cost the same, limited to /api/ and /mcp): a middleware runs before DRF
    authenticates, so an anonymous request would be told about card data instead of 401, and before REST's check of
    an Idempotency-Key, which names the field `Idempotency-Key`."""
    field = pan_header(headers)
    if field:
        raise RawCardDataNotAllowed(details={"field": field})
