"""The one JSON parser for request bodies: REST (`core.parsers.JsonParser`), /mcp/ and cursors.

Python's `json` would turn `1e999999999` into infinity and `0.1000000000000000055511151231257827`
into 0.1 before any field could look at the text a client sent, and recurses once per nested
`[`. Here:
- a number with a fraction or an exponent becomes a `JsonNumber`: a float (so schema checks,
  metadata and storage treat it as the number it is) that keeps its exact `text`, which amount
  fields parse instead of the float (`core.money.parse_amount`);
- a number that does not fit a double (I-JSON, RFC 7493 section 2.2), NaN and Infinity are
  invalid JSON, as are integers longer than Python converts;
- nesting deeper than MAX_DEPTH objects and arrays is invalid JSON;
- an object naming a member twice is invalid JSON: `{"amount": "1.00", "amount": "900.00"}` would
  otherwise mean whatever the last parser in a chain of proxies and clients decided.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from .cards import KEY_WITH_CARD_NUMBER, contains_pan

# No request of ours nests more than a few levels; metadata values are scalars.
MAX_DEPTH = 64


class InvalidJson(ValueError):
    pass


class NestedTooDeep(InvalidJson):
    """Valid JSON perhaps, but nested deeper than MAX_DEPTH: told apart so a door can say so."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels.")


class JsonNumber(float):
    """A JSON number written with a fraction or exponent; `str()` gives the text as sent."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonNumber:
        value = super().__new__(cls, text)
        if not math.isfinite(value):
            raise InvalidJson("Numbers must fit a double-precision float.")
        value.text = text
        return value

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[type[JsonNumber], tuple[str]]:
        return (JsonNumber, (self.text,))


def _refuse_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not valid JSON.")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                # The message goes back to the client and into the request log: a card number is not repeated.
                shown = KEY_WITH_CARD_NUMBER if contains_pan(name) else repr(name[:100])
                raise InvalidJson(f"Duplicate member name in a JSON object: {shown}.")
            seen.add(name)
    return obj


def _too_deep(value: Any) -> bool:
    # Iterative: the point is not to recurse once per level on a client's say-so.
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(raw: str | bytes) -> Any:
    """Parse a request body; raises InvalidJson (a ValueError) with a message for the client."""
    try:
        value = json.loads(raw, parse_float=JsonNumber, parse_constant=_refuse_constant, object_pairs_hook=_object)
    except InvalidJson:
        raise
    except RecursionError:
        raise NestedTooDeep from None
    except (ValueError, UnicodeDecodeError) as exc:
        if "integer string conversion" in str(exc):
            # int() refusing more digits than it converts; its message tells Python programmers what to call.
            limit = sys.get_int_max_str_digits()
            raise InvalidJson(f"Integers of more than {limit} digits are not valid here.") from None
        raise InvalidJson(str(exc)[:200]) from None
    if isinstance(value, dict | list) and _too_deep(value):
        raise NestedTooDeep
    return value
