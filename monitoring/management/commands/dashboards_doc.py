"""Writes docs/DASHBOARDS.md from the registered dashboard pages (`make docs`); a test keeps it current.

Pages are built to learn their charts (a page returns the same charts whatever its data), so the command works on
a throwaway test database: the documentation never depends on what the local database holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from monitoring.dashboards import registry
from monitoring.dashboards.charts import Chart
from monitoring.dashboards.period import Period

DOC = Path(settings.BASE_DIR) / "docs" / "DASHBOARDS.md"

HEADER = """# Dashboards

The admin home (`/admin/`) opens on the overview; the other pages are `/admin/dashboards/<name>/`. Every page
takes `?from=YYYY-MM-DD&to=YYYY-MM-DD&currency=XXX` (UTC days, `to` inclusive; the last 30 days by default), and
each chart's table downloads as CSV with `?format=csv&chart=<chart name>` (money as decimal strings with a
`currency` column, rates as fractions). `?format=json` returns the page's tiles and chart data (the live updates
read it). Definitions of every number are in `docs/dashboards/`.

This page is generated from the registered pages by `manage.py dashboards_doc` (`make docs`); do not edit it by
hand.
"""


def _kind(chart: Chart) -> str:
    if chart.band is None:
        return chart.kind
    band = chart.band
    return f"{chart.kind}; `{band.lower}` to `{band.upper}` shaded as one band around `{band.around}` ({band.label})"


def render(period: Period | None = None) -> str:
    import datetime as dt

    period = period or Period(dt.date(2026, 1, 1), dt.date(2026, 1, 30))
    pages = registry.load()
    lines = [HEADER]
    for name in (registry.OVERVIEW, *registry.NAMES):
        spec = pages[name]
        page = spec.build(period)
        url = "/admin/" if name == registry.OVERVIEW else f"/admin/dashboards/{name}/"
        lines += [f"## {spec.title} (`{url}`)", ""]
        if spec.description:
            lines += [spec.description, ""]
        if spec.permission:
            lines += [f"Needs the permission `{spec.permission}`.", ""]
        for option in spec.options:
            lines += [f"`?{option.name}=` {option.label.lower()}: {', '.join(option.choices)} (default "
                      f"{option.choices[0]}).", ""]
        if page.charts:
            lines += ["| chart | title | kind | columns |", "|---|---|---|---|"]
            lines += [f"| `{c.name}` | {c.title} | {_kind(c)} | {', '.join(f'`{col.key}`' for col in c.columns)} |"
                      for c in page.charts]
            lines.append("")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Rewrites docs/DASHBOARDS.md from the registered dashboard pages (on a throwaway test database)."

    def handle(self, *args: Any, **options: Any) -> None:
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            text = render()
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        DOC.write_text(text)
        self.stdout.write(f"updated {DOC}")
