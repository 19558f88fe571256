"""Masks card numbers that tool calls logged before the call log's rule covered keys and numbers still hold in
their arguments (`manage.py mask_tool_call_card_numbers` runs the same again)."""

from django.db import migrations


def mask_card_numbers(apps, schema_editor):
    # The rule of today's call log, not a copy frozen here: a copy would drift from what the log writes.
    from mcp_gateway.services import tool_call_mask_card_numbers

    tool_call_mask_card_numbers(model=apps.get_model("mcp_gateway", "ToolCall"))


class Migration(migrations.Migration):
    # Each batch commits on its own: a large log is not rewritten in one transaction, and a run cut short
    # leaves masked rows masked (the next run, idempotent, does the rest).
    atomic = False

    dependencies = [("mcp_gateway", "0004_api_key_index_covered")]

    operations = [migrations.RunPython(mask_card_numbers, migrations.RunPython.noop, elidable=True)]
