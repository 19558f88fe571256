"""Re-encryption of every encrypted field under the first key of FIELD_ENCRYPTION_KEYS.

Rotating a key: put the new key first (`FIELD_ENCRYPTION_KEYS=new,old`), deploy, run
`manage.py rotate_field_keys`, then drop the old key. Each batch of rows is read with row locks
(`SELECT ... FOR UPDATE`, by primary key) and rewritten in one transaction with its audit event, so a
concurrent writer waits and never loses its change; a ciphertext already under the first key is left
alone (running it again rewrites nothing). A ciphertext no configured key opens is reported by model,
field and row, never skipped silently (the command then exits 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.functions import Cast

from .audit import audit_record, declare_actions
from .context import Actor
from .crypto import DecryptionFailed, current_fingerprint, decrypt, encrypted_fields, fingerprint_of
from .db import use_case

TASK_NAME = "rotate_field_keys"


@declare_actions
class FieldKeysAction(models.TextChoices):
    FIELD_KEYS_ROTATED = "field_keys.rotated", "Encrypted fields were re-encrypted under the current key"


@dataclass
class FieldCount:
    rows: int = 0
    reencrypted: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "reencrypted": self.reencrypted, "current": self.current,
                "unreadable": self.unreadable}


def _raw_rows(model: type[models.Model], name: str, after: Any, batch_size: int) -> list[tuple[Any, str]]:
    queryset = model._default_manager.filter(**{f"{name}__isnull": False}).select_for_update(of=("self",))
    if after is not None:
        queryset = queryset.filter(pk__gt=after)
    # The stored text as it is (a plain TextField output does not decrypt).
    rows = queryset.order_by("pk").annotate(_stored=Cast(name, output_field=models.TextField())) \
        .values_list("pk", "_stored")[:batch_size]
    return [(pk, stored) for pk, stored in rows]


@use_case
def _rotate_batch(*, actor: Actor, model: type[models.Model], name: str, after: Any, batch_size: int,
                  current: str, count: FieldCount) -> Any:
    rows = _raw_rows(model, name, after, batch_size)
    rewritten = []
    for pk, stored in rows:
        count.rows += 1
        if fingerprint_of(stored) == current:
            try:
                decrypt(stored)
            except DecryptionFailed:
                count.unreadable.append(str(pk))
            else:
                count.current += 1
            continue
        try:
            plain = decrypt(stored)
        except DecryptionFailed:
            count.unreadable.append(str(pk))
            continue
        # update() encrypts through the field (get_prep_value) under the first key.
        model._default_manager.filter(pk=pk).update(**{name: plain})
        rewritten.append(str(pk))
    if rewritten:
        count.reencrypted += len(rewritten)
        audit_record(action=FieldKeysAction.FIELD_KEYS_ROTATED, actor=actor, object_type=model._meta.label_lower,
                     details={"field": name, "rows": len(rewritten), "first_id": rewritten[0],
                              "last_id": rewritten[-1], "key": current})
    return rows[-1][0] if rows else None


def rotate_field_keys(*, actor: Actor | None = None, batch_size: int = 500) -> dict[str, dict[str, Any]]:
    """Re-encrypts every row of every encrypted field; returns per `app.Model.field` its counts."""
    actor = actor or Actor.for_task(TASK_NAME)
    current = current_fingerprint()
    result: dict[str, dict[str, Any]] = {}
    for model, encrypted in encrypted_fields():
        count = FieldCount()
        after: Any = None
        while True:
            after = _rotate_batch(actor=actor, model=model, name=encrypted.name, after=after,
                                  batch_size=batch_size, current=current, count=count)
            if after is None:
                break
        result[f"{model._meta.label}.{encrypted.name}"] = count.as_dict()
    return result
