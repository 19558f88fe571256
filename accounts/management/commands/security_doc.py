"""Regenerates the generated tables of docs/SECURITY.md (`make docs`)."""

import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.roles import render_role_table
from core.operations import all_operations

DOC = Path(settings.BASE_DIR) / "docs" / "SECURITY.md"


def render_operation_table() -> str:
    lines = ["| operation | scope | permission | kind |", "|---|---|---|---|"]
    for op in all_operations():
        kind = "read" if op.read_only else ("write, destructive" if op.destructive else "write")
        lines.append(f"| `{op.name}` | `{op.scope}` | `{op.permission or '-'}` | {kind} |")
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin[^>]*-->\n).*?(\n<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"docs/SECURITY.md has no {name} markers")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


class Command(BaseCommand):
    help = "Rewrites the role and operation tables in docs/SECURITY.md from accounts/roles.py and the operations."

    def handle(self, *args, **options):
        text = DOC.read_text()
        text = replace_block(text, "roles", render_role_table())
        text = replace_block(text, "operations", render_operation_table())
        DOC.write_text(text)
        self.stdout.write(f"updated {DOC}")
