"""`manage.py pci_check [--record]`: the PCI DSS self-assessment as one JSON object; exit 1 when a check failed."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from compliance import pci, services
from core.context import Actor


class Command(BaseCommand):
    help = ("Runs the PCI DSS self-assessment and prints one JSON object {score, checks: [{id, requirement, "
            "status, evidence}]}; exits 1 when any check failed. --record also stores it (audited).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--record", action="store_true",
                            help="Record the run as a PCI assessment (pci_...), as the admin's button does.")

    def handle(self, *args: Any, record: bool = False, **options: Any) -> None:
        out: dict[str, Any]
        if record:
            assessment = services.pci_assessment_run(actor=Actor.system("pci_check"))
            checks, score = assessment.checks, assessment.score
            extra = {"assessment_id": assessment.id}
        else:
            result = pci.run_assessment()
            checks, score, extra = result["checks"], result["score"], {}
        out = {"score": score,
               "checks": [{key: c[key] for key in ("id", "requirement", "status", "evidence")} for c in checks],
               **extra}
        self.stdout.write(json.dumps(out, ensure_ascii=False))
        if any(c["status"] == pci.FAILED for c in checks):
            sys.exit(1)
