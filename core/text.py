"""Text PostgreSQL cannot store (NUL, unpaired surrogates) is refused at the door, not deep
inside a service where it would surface as a 500."""

from __future__ import annotations

import re
from typing import Any

from .errors import ValidationFailed

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Text may not contain NUL characters or unpaired surrogates."


def unstorable_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding unstorable text, or None."""
    if isinstance(value, str):
        return (path or "non_field_errors") if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            found = unstorable_path(str(key), here) or unstorable_path(item, here)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = unstorable_path(item, f"{path}[{i}]")
            if found:
                return found
    return None


def refuse_unstorable_text(data: Any) -> None:
    bad = unstorable_path(data)
    if bad:
        raise ValidationFailed({bad: [MESSAGE]})
