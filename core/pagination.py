"""Cursor pagination, newest first, stable under inserts: the cursor is (created, id)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from . import jsonparse
from .errors import ValidationFailed
from .serializers import in_sane_range
from .text import UNSTORABLE

_QS = TypeVar("_QS", bound="QuerySet[Any]")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list[Any]
    has_more: bool
    next_cursor: str | None


def encode_cursor(created: dt.datetime, pk: Any) -> str:
    raw = json.dumps([created.isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    # A cursor is client text: only what encode_cursor makes gets through (any other time or id
    # would reach the database as a filter, where year 1 or a NUL is an error, not a page).
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = jsonparse.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(created, str) or not isinstance(pk, str) or UNSTORABLE.search(pk):
            raise ValueError("not a cursor")
        when = dt.datetime.fromisoformat(created)
        if when.tzinfo is None or not in_sane_range(when):
            raise ValueError("not a cursor")
        return when, pk
    except (ValueError, TypeError):
        raise ValidationFailed({"cursor": ["Invalid cursor."]}) from None


def _cursor_pk(queryset: QuerySet[Any], pk: Any) -> Any:
    """The cursor's id as this list's primary key: a cursor of another list (another id type or
    prefix) is invalid, not a database error."""
    field = queryset.model._meta.pk
    prefix = getattr(field, "prefix", None)
    try:
        value = field.to_python(pk)
    except ValidationError:
        value = None
    if value is None or (prefix and not str(value).startswith(f"{prefix}_")):
        raise ValidationFailed({"cursor": ["Invalid cursor."]})
    return value


def paginate(queryset: QuerySet[Any], *, limit: int | None = None, cursor: str | None = None,
             created_field: str = "created") -> Page:
    limit = min(max(int(limit or DEFAULT_LIMIT), 1), MAX_LIMIT)
    qs = queryset.order_by(f"-{created_field}", "-pk")
    if cursor:
        created, pk = decode_cursor(cursor)
        pk = _cursor_pk(queryset, pk)
        qs = qs.filter(Q(**{f"{created_field}__lt": created}) | Q(**{created_field: created, "pk__lt": pk}))
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], created_field), rows[-1].pk) if has_more and rows else None
    return Page(rows, has_more, next_cursor)


def filter_present(queryset: _QS, **lookups: Any) -> _QS:
    """The list filters every door offers: each lookup applies only when a value was given."""
    given = {lookup: value for lookup, value in lookups.items() if value is not None and value != ""}
    return queryset.filter(**given) if given else queryset
