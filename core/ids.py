"""Public ids: a type prefix and 24 random base62 characters (~143 bits), e.g. `cus_3xK...`.

Used as primary keys of public objects, so they are indexed by construction and a wrong
prefix can be answered with 404 before any query.
"""

from __future__ import annotations

import secrets
import string
from typing import Any, TypeVar, cast

from django.db import models

from .errors import NotFound
from .rawrows import fetch

_M = TypeVar("_M", bound=models.Model)

_ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 24


# Bytes below 248 (4 x 62) map onto the alphabet without bias; the others are dropped. Done by
# `bytes.translate` in C: ids are made on every insert of the hot paths (eight per MCP payment).
_UNBIASED_BELOW = 256 - 256 % len(_ALPHABET)
_TO_ALPHABET = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_BIASED = bytes(range(_UNBIASED_BELOW, 256))


def random_chars(length: int) -> str:
    """`length` uniformly chosen base62 characters from the system's CSPRNG (ids, API key prefixes).

    One CSPRNG read per call, not one per character; the same uniform choice per character as
    `secrets.choice`."""
    chars = b""
    while len(chars) < length:
        chars += secrets.token_bytes(length + 8).translate(_TO_ALPHABET, _BIASED)
    return chars[:length].decode("ascii")


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_chars(RANDOM_LENGTH)}"


def has_prefix(value: object, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(f"{prefix}_") and 4 <= len(value) <= 64


def get_by_public_id(queryset: models.QuerySet[_M], object_id: object, *, field: str, message: str | None = None,
                     error: type[NotFound] = NotFound) -> _M:
    """The object of `queryset` with this public id, or `error` (404) naming `field`. An id with
    the wrong prefix is answered before any query."""
    if has_prefix(object_id, cast(PublicIdField, queryset.model._meta.pk).prefix):
        found = queryset.filter(pk=object_id).first()
        if found is not None:
            return found
    raise error(message, details={field: object_id})


def fetch_by_public_id(model: type[_M], object_id: object, *, field: str, message: str | None = None,
                       error: type[NotFound] = NotFound, lock: bool = False) -> _M:
    """`get_by_public_id(model.objects.all())` (`select_for_update()` when `lock`) through a statement
    built once (`core.rawrows.fetch`): for the lookups on every write's path (a payment's customer, the
    payment a capture locks)."""
    if has_prefix(object_id, cast(PublicIdField, model._meta.pk).prefix):
        found = fetch(model, lock=lock, pk=object_id)
        if found:
            return found[0]
    raise error(message, details={field: object_id})


class _IdFactory:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)


class PublicIdField(models.CharField):  # type: ignore[type-arg]  # generic in the stubs only, not subscriptable at run time
    """A primary key that generates `<prefix>_<random>` on creation."""

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("editable", False)
        # A real default (not only get_default) so Django skips the UPDATE-then-INSERT probe.
        kwargs["default"] = _IdFactory(prefix)
        super().__init__(**kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        for key in ("max_length", "primary_key", "editable", "default"):
            kwargs.pop(key, None)
        return name, path, args, kwargs
