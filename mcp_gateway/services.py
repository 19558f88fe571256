"""Writes of the gateway: the tool-call log."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from core import clock, heldrows
from core.rawrows import insert

from .models import ToolCall


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
