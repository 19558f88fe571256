"""Demo data, idempotent: each app that has a `demo.py` with `seed(rng, stdout)` adds its part.

Apps are visited in INSTALLED_APPS order (the layering order), so an app's seed can rely on
the data of the apps below it. Running the command twice gives the same data.

`--scale large` (PostgreSQL only) runs each app's `demo_large.seed_large` instead: a year of data at
volume (1,000,000 payments, 100,000 subscriptions, 50,000 wallets by default; `--payments N` scales
every count down in proportion), written with COPY through `core.bulkseed`; it runs once (a second
run finds its customers and stops). docs/dashboards/scale.md.
"""

import importlib
import importlib.util
import random
import time
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from core.outbox import run_due_locally

LARGE_PAYMENTS = 1_000_000
LARGE_APPS = ["accounts", "wallets", "payments", "subscriptions", "monitoring"]  # in layering order


def _large_module(app: str) -> Any:
    name = f"{app}.demo_large"
    return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None


class Command(BaseCommand):
    help = "Creates demo data through the services (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=20261126)
        parser.add_argument(
            "--scale",
            choices=["default", "large"],
            default="default",
            help="large: a year of data at volume, written with COPY (PostgreSQL only).",
        )
        parser.add_argument(
            "--payments",
            type=int,
            default=LARGE_PAYMENTS,
            help="With --scale large: how many payments; the other counts follow in proportion.",
        )

    def handle(
        self, *args: Any, seed: int, scale: str = "default", payments: int = LARGE_PAYMENTS, **options: Any
    ) -> None:
        if scale == "large":
            from core.bulkseed import LargeSeedRefused

            try:
                self._large(seed, payments)
            except LargeSeedRefused as refused:
                raise CommandError(str(refused)) from refused
            return
        for config in apps.get_app_configs():
            module_name = f"{config.name}.demo"
            if importlib.util.find_spec(module_name) is None:
                continue
            module = importlib.import_module(module_name)
            self.stdout.write(f"seeding {config.label}...")
            started = time.monotonic()
            # Each app gets its own generator so adding data to one app doesn't change another's.
            module.seed(rng=random.Random(f"{seed}:{config.label}"), stdout=self.stdout)
            # No relay or worker runs during the seed, and what a part queued is dated back with its history: left
            # waiting, it was a backlog "months old" when the monitoring part evaluated the alert rules (a HIGH
            # outbox backlog alert and its e-mail, about the seed itself) and recorded a health check. So each
            # part's queued work is done here, by the relay's own inline path, as a worker would have done it then.
            ran = run_due_locally()
            self.stdout.write(f"seeded {config.label} in {time.monotonic() - started:.1f} s"
                              + (f" ({ran} queued tasks run)" if ran else ""))
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    def _large(self, seed: int, payments: int) -> None:
        from core import clock
        from core.bulkseed import AuditWriter, EventWriter, LargeSeed, PhaseTimer, mark_dispatched, require_postgres
        from core.context import Actor

        require_postgres()
        if payments < 1:
            raise CommandError("--payments must be at least 1.")
        accounts = _large_module("accounts")
        if accounts.existing():
            self.stdout.write("large demo data already there (customers @large.example): nothing done")
            return
        fraction = payments / LARGE_PAYMENTS
        began = clock.now()
        actor = Actor.system("seed_demo")
        compliance = _large_module("compliance")
        started = time.monotonic()
        timer = PhaseTimer(self.stdout)
        # Audit events are sealed into the hash chain as they are written (compliance owns the hash).
        sealer = compliance.chain_sealer() if compliance else None
        try:
            large = LargeSeed(
                stdout=self.stdout,
                rng=random.Random(f"{seed}:large"),
                now=clock.now(),
                payments=payments,
                subscriptions=max(round(100_000 * fraction), 10),
                wallets=max(round(50_000 * fraction), 10),
                customers=max(round(100_000 * fraction), 20),
                timer=timer,
                audit=AuditWriter(actor=actor, sealer=sealer),
                events=EventWriter(actor=actor),
            )
            self.stdout.write(
                f"seeding at scale: {large.customers:,} customers, {large.wallets:,} wallets, "
                f"{payments:,} payments, {large.subscriptions:,} subscriptions over {large.days} days"
            )
            # One transaction: all of it or nothing, and one commit instead of one per batch.
            with transaction.atomic():
                for app in LARGE_APPS:
                    module = _large_module(app)
                    if module is not None:
                        module.seed_large(large)
                large.flush()
                through_services = mark_dispatched(since=began, actor=actor)
                with timer.phase("foreign key checks"), connection.cursor() as cursor:
                    # The checks deferred to the commit, run here so their time shows as a phase.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            with timer.phase("analyze"), connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        finally:
            if compliance:
                compliance.release_chain()
        self.stdout.write(f"  audit events written (sealed into the chain): {large.audit.written:,}")
        self.stdout.write(
            f"  events written: {large.events.written + through_services:,}, all marked dispatched "
            "(dispatched_at set): no webhook is sent for them"
        )
        self.stdout.write("  phase times:")
        for name, elapsed, _ in timer.phases:
            self.stdout.write(f"    {elapsed:8.1f} s  {name}")
        self.stdout.write(self.style.SUCCESS(f"large demo data ready in {time.monotonic() - started:.1f} s"))
