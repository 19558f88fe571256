"""Masks card numbers in logged calls' request ids: taken from the caller's X-Request-ID before one holding a
card number was refused (`manage.py mask_tool_call_card_numbers` runs the same again)."""

from django.db import migrations


def mask_card_numbers(apps, schema_editor):
    # The rule of today's call log, as in 0005: one function masks arguments and request ids.
    from mcp_gateway.services import tool_call_mask_card_numbers

    tool_call_mask_card_numbers(model=apps.get_model("mcp_gateway", "ToolCall"))


class Migration(migrations.Migration):
    atomic = False  # each batch commits on its own, as in 0005

    dependencies = [("mcp_gateway", "0005_mask_card_numbers_in_tool_call_arguments")]

    operations = [migrations.RunPython(mask_card_numbers, migrations.RunPython.noop, elidable=True)]
