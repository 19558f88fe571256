"""`manage.py health_check [--record]`: every health check as one JSON object; exits 0 when every component is
ok, 1 when one is degraded or down (for a cron job or a container probe that wants more than /readyz)."""

import json
import sys

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from core import clock
from core.context import Actor
from monitoring import health


class Command(BaseCommand):
    help = "Runs every health check and prints the score, formula and components as JSON; exit 1 unless all ok."

    def add_arguments(self, parser):
        parser.add_argument("--record", action="store_true", help="Also record the check (the status page's history).")

    def handle(self, *args, **options):
        report = health.run_checks()
        data = health.report_data(report)
        data["checked_at"] = clock.isoformat(report.checked_at)
        if options["record"]:
            check = health.health_check_record(actor=Actor.system("health_check"), report=report,
                                               source="manage.py health_check")
            data["health_check_id"] = check.pk
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder))
        if report.state != health.OK:
            sys.exit(1)
