"""`manage.py mask_tool_call_card_numbers`: masks card numbers in logged MCP calls' arguments (keys and values)
and request ids, as migrations mcp_gateway 0005 and 0006 did, for an operator to run again (e.g. after restoring
an old backup)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mcp_gateway.services import MASK_BATCH, tool_call_mask_card_numbers


class Command(BaseCommand):
    help = ("Masks card numbers in the arguments (keys and values, at any depth) and request ids of logged MCP tool "
            "calls with the call log's own rule; rows without one are left as they are. Idempotent.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=MASK_BATCH, help="Rows read per batch.")

    def handle(self, *args: Any, batch: int = MASK_BATCH, **options: Any) -> None:
        result = tool_call_mask_card_numbers(batch=max(batch, 1))
        self.stdout.write(f"{result.masked} of {result.read} tool call(s) masked.")
