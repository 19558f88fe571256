"""Demo data, idempotent: each app that has a `demo.py` with `seed(rng, stdout)` adds its part.

Apps are visited in INSTALLED_APPS order (the layering order), so an app's seed can rely on
the data of the apps below it. Running the command twice gives the same data.
"""

import importlib
import importlib.util
import random
import time
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Creates demo data through the services (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=20261126)

    def handle(self, *args: Any, seed: int, **options: Any) -> None:
        for config in apps.get_app_configs():
            module_name = f"{config.name}.demo"
            if importlib.util.find_spec(module_name) is None:
                continue
            module = importlib.import_module(module_name)
            self.stdout.write(f"seeding {config.label}...")
            started = time.monotonic()
            # Each app gets its own generator so adding data to one app doesn't change another's.
            module.seed(rng=random.Random(f"{seed}:{config.label}"), stdout=self.stdout)
            self.stdout.write(f"seeded {config.label} in {time.monotonic() - started:.1f} s")
        self.stdout.write(self.style.SUCCESS("demo data ready"))
