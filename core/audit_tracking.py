"""Audit of rows that change outside our services (Django's auth admin, django-otp, django-celery-beat).

`track_changes(model, fields, record)` calls `record(instance, created, changed)` from `post_save`, in
the saving transaction, when the row is new or one of `fields` changed (`changed`: field -> [old, new]);
saves that touch none of them (a login's `last_login`, beat's `last_run_at`) read nothing and record
nothing. The previous values are read in `pre_save` (one query, only for such saves).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import models
from django.db.models.signals import post_save, pre_save

_OLD = "_audit_tracked_old"

Record = Callable[[Any, bool, dict[str, list[Any]]], None]


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def track_changes(model: type[models.Model], fields: Iterable[str], record: Record, *, uid: str) -> None:
    names = tuple(fields)
    attnames = {name: model._meta.get_field(name).attname for name in names}  # type: ignore[union-attr]  # concrete fields

    def before(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
        setattr(instance, _OLD, None)
        if raw or instance._state.adding or instance.pk is None:
            return
        if update_fields is not None and not set(update_fields) & (set(names) | set(attnames.values())):
            return
        old = sender._default_manager.filter(pk=instance.pk).values(*attnames.values()).first()
        setattr(instance, _OLD, old)

    def after(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
        if raw:
            return
        old = getattr(instance, _OLD, None)
        setattr(instance, _OLD, None)
        if created:
            record(instance, True, {})
            return
        if old is None:
            return
        changed = {name: [_plain(old[att]), _plain(getattr(instance, att))] for name, att in attnames.items()
                   if old[att] != getattr(instance, att)}
        if changed:
            record(instance, False, changed)

    pre_save.connect(before, sender=model, weak=False, dispatch_uid=f"audit.pre.{uid}")
    post_save.connect(after, sender=model, weak=False, dispatch_uid=f"audit.post.{uid}")
