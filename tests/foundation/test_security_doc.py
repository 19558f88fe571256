import re
from pathlib import Path

from accounts.management.commands.security_doc import replace_block
from accounts.roles import ROLE_NAMES, render_role_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md"


def test_role_table_is_current():
    text = DOC.read_text()
    assert replace_block(text, "roles", render_role_table()) == text, "docs/SECURITY.md is stale: run `make docs`"


def test_role_table_lists_every_role():
    table = render_role_table()
    assert [re.match(r"\| (\w+) \|", line).group(1) for line in table.splitlines()[2:]] == list(ROLE_NAMES)
    assert "| auditor | `*.view_*`, `compliance.export_compliance_data` |" in table
