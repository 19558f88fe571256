"""The DRF parser of every REST body (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): `core.jsonparse`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .jsonparse import InvalidJson, loads


class JsonParser(JSONParser):
    """DRF's JSONParser on `core.jsonparse.loads`: numbers keep their text, nesting is bounded,
    and a malformed body is 400 `invalid_json` (DRF's ParseError, see core.api).

    A subclass, because DRF reads a JSONParser's body through `request.body`, which enforces
    DATA_UPLOAD_MAX_MEMORY_SIZE (413) before anything is parsed."""

    # Any, not the stubs' dict: a JSON body may be any value (the serializer refuses a non-object).
    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads(stream.read().decode(encoding))
        except (InvalidJson, UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}"[:300]) from None
