"""`manage.py fraud_train --input FILE [--activate] [--hold-out SCENARIO]`: trains the fraud model on a
JSON Lines file (time split inside it), registers it as a candidate and, with --activate, applies the
promotion rule. The last line printed is one JSON object: model_id, metrics, activated, reason."""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from core.context import Actor
from core.errors import DomainError
from payments.risk.model import train_file
from payments.risk.simulate import SCENARIOS


class Command(BaseCommand):
    help = "Trains, measures and registers a fraud model from a JSON Lines file."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True)
        parser.add_argument("--activate", action="store_true", help="apply the promotion rule")
        parser.add_argument("--hold-out", default="", choices=("", *SCENARIOS),
                            help="keep this scenario's fraud out of training and report its recall")

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            result = train_file(options["input"], actor=Actor.for_task("fraud_train"),
                                activate=options["activate"], hold_out=options["hold_out"])
        except (DomainError, OSError, ValueError) as exc:
            raise CommandError(f"{getattr(exc, 'code', type(exc).__name__)}: {exc}") from exc
        result["seconds"] = round(time.monotonic() - started, 1)
        if not options["activate"]:
            result.pop("activated", None)
        self.stdout.write(json.dumps(result))
