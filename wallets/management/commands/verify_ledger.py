"""`manage.py verify_ledger`: prints every broken ledger invariant and exits 1 if there is any."""

import sys

from django.core.management.base import BaseCommand

from core import clock
from wallets.selectors.verify import ledger_verify
from wallets.signals import ledger_verified


class Command(BaseCommand):
    help = ("Checks that every entry balances per currency, every account's balance equals the sum of its "
            "postings and its last posting's balance_after, pending debits equal pending holds, and no "
            "non-negative account is below zero.")

    def handle(self, *args, **options):
        started_at = clock.now()
        report = ledger_verify()
        ledger_verified.send(sender=Command, report=report, started_at=started_at, finished_at=clock.now(),
                             source="manage.py verify_ledger")
        for problem in report.problems:
            self.stdout.write(self.style.ERROR(problem))
        summary = f"{report.entries} entries, {report.postings} postings, {report.accounts} accounts checked"
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"ledger OK: {summary}"))
            return
        self.stdout.write(self.style.ERROR(f"ledger BROKEN: {len(report.problems)} problem(s); {summary}"))
        sys.exit(1)
