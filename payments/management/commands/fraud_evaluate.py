"""`manage.py fraud_evaluate --model active|MODEL_ID --input FILE`: scores every row of a JSON Lines file
in time order (features from the file's own earlier rows) and prints one JSON object of metrics, with
the rules baseline's under `rules_baseline`."""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from payments.risk.dataset import read_jsonl
from payments.risk.model import evaluate_booster, load


class Command(BaseCommand):
    help = "Evaluates a registered fraud model on a JSON Lines file."

    def add_arguments(self, parser):
        parser.add_argument("--model", default="active", help="'active' or a model id (mdl_...)")
        parser.add_argument("--input", required=True)

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            model, booster = load(options["model"])
            metrics = evaluate_booster(booster, model.features, read_jsonl(options["input"]))
        except (DomainError, OSError, ValueError) as exc:
            raise CommandError(f"{getattr(exc, 'code', type(exc).__name__)}: {exc}") from exc
        metrics.update(model_id=model.id, version=model.version, seconds=round(time.monotonic() - started, 1))
        self.stdout.write(json.dumps(metrics))
