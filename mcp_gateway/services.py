"""Writes of the gateway: the tool-call log."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.db import connection, models, transaction

from core import clock, heldrows
from core.cards import contains_pan, find_pan_field
from core.rawrows import insert
from core.redaction import mask_pans

from .models import ToolCall
from .redaction import redact

MASK_BATCH = 1000


def tool_call_record(**fields: Any) -> ToolCall:
    """One row per call. A write's call is logged in the transaction that records the write's
    outcome (`core.idempotency.outcome_written_with`); any other, and a call whose effect rolled
    back, in one auto-committed statement of its own."""
    call = ToolCall(created=clock.now(), **fields)
    if not connection.in_atomic_block:
        insert(call)
        return call
    if heldrows.insert_optional_later(call):
        # Written with the outcome's record, in its statement; if the row fails it, the outcome is recorded again
        # without holding it (core.idempotency), and it comes back here to the savepoint below.
        return call
    # A savepoint inside a transaction, so a failed insert cannot poison the write it is logged with.
    with transaction.atomic():
        insert(call)
    return call


class Masked(NamedTuple):
    read: int
    masked: int


def tool_call_mask_card_numbers(*, model: type[models.Model] = ToolCall, batch: int = MASK_BATCH) -> Masked:
    """Masks, with the rule every call's log row gets now, card numbers that logged calls still hold: in the
    arguments, a key or a value at any depth (`redaction.redact`; rows written before that rule covered keys and
    numbers), and in the request id (taken from the caller's X-Request-ID before one holding a card number was
    refused; `mask_pans`). The PCI scan (3.5.1) reports both. Rows without one are left as they are. Idempotent.

    Read `batch` rows at a time in primary key order, each batch's changes in a transaction of its own, so a large
    log is neither held in memory nor rewritten in one long transaction. `model` is a data migration's
    historical ToolCall (`mcp_gateway/migrations/0005_...`, `0006_...`)."""
    rows = model._base_manager.order_by("pk")
    read = masked = 0
    after = ""
    while True:
        chunk = list(rows.filter(pk__gt=after).values_list("pk", "arguments", "request_id")[:batch])
        if not chunk:
            return Masked(read, masked)
        read += len(chunk)
        after = chunk[-1][0]
        found = [(pk, changes) for pk, arguments, request_id in chunk
                 if (changes := _masked_columns(arguments, request_id))]
        if found:
            with transaction.atomic():
                for pk, changes in found:
                    model._base_manager.filter(pk=pk).update(**changes)
            masked += len(found)


def _masked_columns(arguments: Any, request_id: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if find_pan_field(arguments) is not None:
        changes["arguments"] = redact(arguments)
    if request_id and contains_pan(request_id):
        changes["request_id"] = mask_pans(request_id)
    return changes
