"""Writes of the gateway: the tool-call log."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core import clock

from .models import ToolCall


def tool_call_record(**fields: Any) -> ToolCall:
    """One row per call, in its own (auto-committed) statement: a call whose effect rolled
    back is still logged."""
    # A savepoint when called inside a transaction, so a failed insert cannot poison it.
    with transaction.atomic():
        return ToolCall.objects.create(created=clock.now(), **fields)
