from pathlib import Path

from django.core.management import call_command

from mcp_gateway import docs

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_tool_list_is_generated_from_the_registry():
    text = README.read_text()
    assert docs.START in text and docs.END in text
    assert docs.readme_with_current_block(text) == text, (
        "README.md's MCP tool list is stale: run `make docs` (or `python manage.py mcp_tools --write-readme`).")


def test_command_prints_the_table(capsys):
    call_command("mcp_tools")
    out = capsys.readouterr().out
    assert out.strip() == docs.tool_table()
    assert "| `create_customer` | `payments:write` | write | **email**, name, country, metadata, " \
           "**idempotency_key** |" in out
