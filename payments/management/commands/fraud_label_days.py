"""`manage.py fraud_label_days`: checks the merchant label days the fraud score reads against the labelled
payments; prints one JSON object and exits 1 when any day differs (payments/risk/label_days.py)."""

import json
import sys

from django.core.management.base import BaseCommand

from payments.risk.label_days import label_day_drift


class Command(BaseCommand):
    help = "Checks the merchant label counts per day (kept by triggers) against the labelled payments."

    def handle(self, *args, **options):
        drift = label_day_drift()
        self.stdout.write(json.dumps({"days_differing": len(drift), "differences": drift[:100]}))
        if drift:
            sys.exit(1)
