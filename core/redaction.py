"""Masking card numbers in text that is about to be written somewhere (log lines).

Requests carrying a card number are refused (`core.cards`), but the refusal itself is logged with the
URL, and so is anything else that names a path or a query string. `mask_pans` finds digit runs the
way a URL or a person writes them (spaces, hyphens, dots, underscores, commas, slashes, `+` and `%20`-style escapes
between digits, any script's digits) and asks `core.cards.contains_pan` whether one is a card number,
so what is refused and what is masked follow the same rule.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote_plus

from .cards import contains_pan, without_ip_addresses

# A run of digits and what may sit between a card number's digits, raw or percent-encoded.
_SEPARATOR = r"[\s\-._+,/\u00a0\u2007\u2010-\u2015\u202f\u2212\u3000\ufe58\ufe63\uff0d\uff0e\uff3f]"
# Digits glued to a letter are part of a token, not a card number, as `core.cards` rules (a request id's hex holds a
# checksum-valid run one time in 300); a percent-escape right before the digits is not a letter (`q%3D4242...`).
_RUN = re.compile(rf"(?:(?<![\dA-Za-z])|(?<=%[0-9A-Fa-f]{{2}}))"
                  rf"\d(?:(?:{_SEPARATOR}|%[0-9A-Fa-f]{{2}}){{0,3}}\d)+(?![\dA-Za-z])")
_MIN_DIGITS = 13


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())


def _is_card_number(run: str) -> bool:
    decoded = without_ip_addresses(unquote_plus(run) if "%" in run or "+" in run else run)
    for candidate in {run, decoded, _spaced(decoded)}:
        if contains_pan(candidate):
            return True
    return False


def _spaced(text: str) -> str:
    """Every separator as one space and every digit as ASCII: the form `contains_pan` reads on any branch."""
    return re.sub(rf"{_SEPARATOR}+", " ", "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch
                                                  for ch in text))


_GROUPS = re.compile(rf"((?:{_SEPARATOR}|%[0-9A-Fa-f]{{2}})+)")


def _mask(match: re.Match[str]) -> str:
    run = match.group()
    digits = _digits(unquote_plus(run))
    if len(digits) < _MIN_DIGITS or not _is_card_number(run):
        return run
    # Only the card number: digit groups before or after it that it does not need stay as written (the `1/` of
    # `/api/v1/4242...`, a page number after it).
    parts = _GROUPS.split(run)  # digit groups at even places, what separates them at odd ones
    first, last = 0, len(parts) - 1
    while first < last and _is_card_number("".join(parts[first + 2:last + 1])):
        first += 2
    while last > first and _is_card_number("".join(parts[first:last - 1])):
        last -= 2
    card = "".join(parts[first:last + 1])
    return f"{''.join(parts[:first])}[PAN ****{_digits(unquote_plus(card))[-4:]}]{''.join(parts[last + 1:])}"


def mask_pans(text: str) -> str:
    """`text` with every card number in it replaced by `[PAN ****<last 4>]`."""
    if sum(ch.isdigit() for ch in text) < _MIN_DIGITS:
        return text
    return _RUN.sub(_mask, text)
