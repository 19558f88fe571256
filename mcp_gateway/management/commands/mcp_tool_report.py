import datetime as dt

from django.core.management.base import BaseCommand

from core import clock
from mcp_gateway.selectors import tool_call_report


class Command(BaseCommand):
    help = "Per MCP tool over the last --hours: calls, errors, average, p95 and worst duration (ms)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24)

    def handle(self, *args, hours=24, **options):
        rows = tool_call_report(since=clock.now() - dt.timedelta(hours=hours))
        self.stdout.write(f"{'tool':32} {'calls':>7} {'errors':>7} {'avg_ms':>9} {'p95_ms':>9} {'max_ms':>9}")
        for row in rows:
            self.stdout.write(f"{row['tool']:32} {row['calls']:>7} {row['errors']:>7} {row['avg_ms']:>9.1f} "
                              f"{row['p95_ms']:>9.1f} {row['max_ms']:>9.1f}")
