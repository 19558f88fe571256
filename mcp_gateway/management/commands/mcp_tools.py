from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mcp_gateway import docs


class Command(BaseCommand):
    help = "Prints the MCP tool list (Markdown) from the registry; --write-readme updates README.md."

    def add_arguments(self, parser):
        parser.add_argument("--write-readme", action="store_true", help="Replace the list in README.md.")

    def handle(self, *args, write_readme=False, **options):
        if not write_readme:
            self.stdout.write(docs.tool_table())
            return
        changed = docs.write_readme(Path(settings.BASE_DIR) / "README.md")
        self.stdout.write("README.md updated." if changed else "README.md already current.")
