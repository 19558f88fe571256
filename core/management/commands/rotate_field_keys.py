"""Re-encrypts every encrypted field under the first key of FIELD_ENCRYPTION_KEYS (core.key_rotation).

Prints one JSON object: `current_key` (the first key's fingerprint), `unreadable` (how many rows no
configured key opens) and `fields`: per `app.Model.field`, `rows`, `reencrypted`, `current` (already
under the first key) and `unreadable` (those rows' ids). Exits 1 when any row is unreadable.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.crypto import current_fingerprint
from core.key_rotation import rotate_field_keys


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        result = rotate_field_keys(batch_size=max(1, options["batch_size"]))
        unreadable = sum(len(counts["unreadable"]) for counts in result.values())
        self.stdout.write(json.dumps({"fields": result, "current_key": current_fingerprint(),
                                      "unreadable": unreadable}, sort_keys=True))
        if unreadable:
            self.stderr.write(f"{unreadable} row(s) could not be decrypted with any configured key.")
            sys.exit(1)
