"""`manage.py verify_audit_chain [--include-archives]`: one JSON line, exit 0 intact / 1 otherwise."""

import json
import sys

from django.core.management.base import BaseCommand

from compliance.chain import verify_chain


class Command(BaseCommand):
    help = ('Recomputes the sealed audit chain and prints {"intact", "count", "first_broken_event_id", '
            '"reason"} (reason: altered, missing or inserted); exits 1 when the chain is broken.')

    def add_arguments(self, parser):
        parser.add_argument("--include-archives", action="store_true",
                            help="Verify the archive files (not yet past retention) before the table.")

    def handle(self, *args, **options):
        report = verify_chain(include_archives=options["include_archives"])
        self.stdout.write(json.dumps(report.as_dict()))
        if not report.intact:
            sys.exit(1)
