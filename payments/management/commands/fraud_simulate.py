"""`manage.py fraud_simulate --out FILE --customers N --days D --seed S [--start YYYY-MM-DD]`: simulated
transactions with labelled fraud scenarios, in the JSON Lines format of docs/RISK.md."""

import datetime as dt
import json
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from payments.risk.dataset import write_jsonl
from payments.risk.simulate import simulate


class Command(BaseCommand):
    help = "Writes simulated transactions (with injected, labelled fraud) as JSON Lines."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--customers", type=int, required=True)
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--start", default="2025-01-01", help="first day, YYYY-MM-DD (default 2025-01-01)")

    def handle(self, *args, **options):
        try:
            start = dt.date.fromisoformat(options["start"])
        except ValueError as exc:
            raise CommandError(f"--start is not a YYYY-MM-DD date: {options['start']!r}") from exc
        if not 1 <= options["customers"] <= 1_000_000 or not 1 <= options["days"] <= 3660:
            raise CommandError("--customers must be 1..1000000 and --days 1..3660.")
        rows = simulate(customers=options["customers"], days=options["days"], seed=options["seed"], start=start)
        count = write_jsonl(rows, options["out"])
        scenarios = Counter(row["scenario"] for row in rows if row.get("scenario"))
        self.stdout.write(json.dumps({"out": options["out"], "rows": count, "frauds": sum(scenarios.values()),
                                      "per_scenario": dict(sorted(scenarios.items()))}))
