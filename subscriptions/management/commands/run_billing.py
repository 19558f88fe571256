"""`manage.py run_billing [--now ISO8601]`: one billing cycle as of that time, via the same
service the Celery task calls."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from core import clock
from core.context import Actor
from subscriptions.services import billing_run


class Command(BaseCommand):
    help = "Runs one billing cycle (renewals, collection, dunning retries), optionally as of --now."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 moment to run as of (UTC if no offset), e.g. 2026-03-01T00:00:00Z")
        parser.add_argument("--chunk-size", type=int, default=None)

    def handle(self, *args, **options):
        moment = clock.now()
        if options["now"]:
            parsed = parse_datetime(options["now"].replace("Z", "+00:00"))
            if parsed is None:
                raise CommandError(f"--now is not an ISO 8601 date-time: {options['now']!r}")
            moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        with clock.frozen_at(moment.astimezone(dt.UTC)):
            run = billing_run(actor=Actor.for_task("run_billing"), chunk_size=options["chunk_size"],
                              triggered_by="manage.py run_billing")
        self.stdout.write(
            f"{run.id} as of {clock.isoformat(run.as_of)}: {run.status}; renewed {run.renewed}, invoices "
            f"{run.invoices_created}, payments {run.payments_attempted} ({run.payments_succeeded} paid, "
            f"{run.payments_failed} failed), canceled {run.canceled}, expired {run.expired}, errors {run.errors}")
