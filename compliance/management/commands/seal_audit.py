"""`manage.py seal_audit`: seals the audit events that can be sealed now (what the minute job does)."""

from django.core.management.base import BaseCommand

from compliance.chain import seal_pending


class Command(BaseCommand):
    help = ("Assigns seq and the SHA-256 chain hashes to audit events whose transactions have ended "
            "(docs/COMPLIANCE.md). Prints how many were sealed.")

    def handle(self, *args, **options):
        self.stdout.write(f"sealed {seal_pending()} audit event(s)")
