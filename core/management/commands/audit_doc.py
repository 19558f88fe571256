"""Writes docs/AUDIT.md from the declared audit actions (`make docs`); a test keeps it current."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from core.audit import action_aliases, declared_actions

DOC = Path(settings.BASE_DIR) / "docs" / "AUDIT.md"

HEADER = """# Audit actions

Every business and security change records an audit event (`core.audit.audit_record`) in the
transaction of the change, with who (staff user, API key or task), what (the action below), when,
where from (IP address and user agent, or the task), the outcome and the object. Actions are
declared once, in each app's `audit.py`; recording an undeclared action is refused. This page is
generated from those declarations by `manage.py audit_doc` (`make docs`); do not edit it by hand.
"""


def render() -> str:
    lines = [HEADER, "| action | app | what happened |", "|---|---|---|"]
    lines += [f"| `{name}` | {app} | {text} |" for name, (app, text) in declared_actions().items()
              if app != "tests"]
    aliases = action_aliases()
    if aliases:
        lines += ["", "## Legacy names", "",
                  "Names an earlier release wrote. The trail keeps them as written; readers and reports read",
                  "them as the current action.", "", "| written as | read as |", "|---|---|"]
        lines += [f"| `{legacy}` | `{current}` |" for legacy, current in aliases.items()]
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Rewrites docs/AUDIT.md from the audit actions the apps declare."

    def handle(self, *args: Any, **options: Any) -> None:
        DOC.write_text(render())
        self.stdout.write(f"updated {DOC}")
