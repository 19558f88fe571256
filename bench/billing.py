"""Billing throughput: invoices created and charged per second for N due subscriptions.

Setup bulk-inserts a plan, customers and N subscriptions whose period has just ended
(paying with the sandbox card token), so the bench measures billing, not signups. Then W
worker processes each run `billing_run` at once, exactly as concurrent Celery workers or
two `run_billing` commands would: SKIP LOCKED splits the renewals and collections between
them. The clock is frozen at the billing moment. Afterwards every subscription must have
exactly one paid cycle invoice with one succeeded payment, and numbers must be gapless.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_billing_bench \\
        .venv/bin/python bench/billing.py --subscriptions 100000 --workers 4

The database is created and migrated if needed, and the bench's own rows are deleted first;
use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import threading
import time

from scratchdb import ensure_database, setup_django

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
BILL_AT = dt.datetime(2030, 2, 1, 0, 0, 1, tzinfo=dt.UTC)


def _reset():
    from django.db import connection

    tables = ["subscriptions_notification", "subscriptions_invoiceattempt", "subscriptions_invoiceline",
              "subscriptions_invoice", "subscriptions_subscriptionevent", "subscriptions_subscription",
              "subscriptions_plan", "subscriptions_invoicesequence", "subscriptions_billingrun",
              "payments_paymentattempt", "payments_payment"]
    with connection.cursor() as cur:
        # The audit and ledger tables are append-only by trigger; TRUNCATE is the bench's way to a clean slate.
        cur.execute("TRUNCATE " + ", ".join(tables) + ", core_auditevent CASCADE")


def _populate(n: int, customers: int) -> None:
    from accounts.models import Customer
    from subscriptions.models import Plan, Subscription, SubscriptionEvent

    plan = Plan.objects.create(name="Bench", amount=1500, currency="USD", interval="month", created=START)
    existing = list(Customer.objects.filter(email__endswith="@bench.example").values_list("id", flat=True))
    if len(existing) < customers:
        Customer.objects.bulk_create([Customer(email=f"b{i}@bench.example", name=f"Bench {i}", country="US",
                                               kyc_status="verified", created=START, updated=START)
                                      for i in range(len(existing), customers)], batch_size=5000)
        existing = list(Customer.objects.filter(email__endswith="@bench.example").values_list("id", flat=True))
    period_end = START + dt.timedelta(days=31)
    for offset in range(0, n, 10_000):
        subs = [Subscription(customer_id=existing[i % len(existing)], plan=plan, quantity=1, status="active",
                             billing_cycle_anchor=START, period_index=0, current_period_start=START,
                             current_period_end=period_end, payment_method="tok_visa", created=START, updated=START)
                for i in range(offset, min(n, offset + 10_000))]
        Subscription.objects.bulk_create(subs, batch_size=5000)
        SubscriptionEvent.objects.bulk_create([
            SubscriptionEvent(subscription=s, customer_id=s.customer_id, kind="activated", status="active",
                              plan_id=plan.id, quantity=1, currency="USD", mrr=1500, at=START) for s in subs],
            batch_size=5000)


def _worker(args):
    chunk_size, = args
    setup_django()
    from core import clock
    from core.context import Actor
    from subscriptions.services import billing_run

    started = time.perf_counter()
    with clock.frozen_at(BILL_AT):
        run = billing_run(actor=Actor.for_task("bench"), chunk_size=chunk_size, triggered_by="bench")
    return {"seconds": time.perf_counter() - started, "renewed": run.renewed, "paid": run.payments_succeeded,
            "failed": run.payments_failed, "errors": run.errors}


# The tables the run fills, as autovacuum's analyze would see them grow.
GROWING = ["subscriptions_invoice", "subscriptions_invoiceline", "subscriptions_invoiceattempt",
           "subscriptions_invoicesequence", "payments_payment", "payments_paymentattempt", "payments_sandboxcharge",
           "wallets_journalentry", "wallets_posting", "core_auditevent"]


class _Analyzer(threading.Thread):
    """ANALYZE of the growing tables every `interval` seconds while the workers run.

    Autovacuum is off on the bench machines; any real PostgreSQL runs it, and its analyze gives
    the planner statistics for tables that grow. Without any, PostgreSQL guesses that a 200-value
    IN list matches the whole table and scans it (the chunk queries then cost O(table) each).
    The analyzes run on the same cores, inside the measured time."""

    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.interval, self.runs, self.stop = interval, 0, threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stop.wait(self.interval):
                with connection.cursor() as cur:
                    cur.execute("ANALYZE " + ", ".join(GROWING))
                self.runs += 1
        finally:
            connection.close()


def _verify(n: int) -> dict:
    from django.db.models import Count, Max, Min

    from payments.models import Payment
    from subscriptions.models import Invoice, InvoiceSequence

    cycle = Invoice.objects.filter(billing_reason="subscription_cycle")
    per_sub = cycle.values("subscription_id").annotate(n=Count("id")).filter(n__gt=1).count()
    payments = Payment.objects.filter(status="succeeded").count()
    last = InvoiceSequence.objects.get(year=BILL_AT.year).last
    numbers = cycle.count()
    # Numbers are unique (a constraint); with the first and the last where they belong and as many
    # numbers as the counter gave out, none is missing.
    span = cycle.aggregate(first=Min("number"), final=Max("number"))
    gapless = last == numbers and span == {"first": f"INV-{BILL_AT.year}-000001",
                                           "final": f"INV-{BILL_AT.year}-{last:06d}"}
    return {"invoices": numbers, "paid": cycle.filter(status="paid").count(), "subscriptions_with_two": per_sub,
            "payments_succeeded": payments, "numbers_gapless": gapless, "expected": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--chunk-size", type=int, default=200)
    parser.add_argument("--analyze-every", type=float, default=15.0,
                        help="seconds between ANALYZEs of the growing tables (autovacuum's part); 0: never")
    args = parser.parse_args()
    setup_django()
    ensure_database("bench/billing.py")
    _reset()
    t0 = time.perf_counter()
    _populate(args.subscriptions, args.customers)
    from django.db import connection, connections

    with connection.cursor() as cur:
        # What a live database has and a bulk load has not: planner statistics for the loaded rows
        # (only those tables: statistics saying "empty" on the tables the run fills would mislead the
        # planner for the whole run, as autovacuum is off on the bench machines).
        cur.execute("ANALYZE accounts_customer, subscriptions_plan, subscriptions_subscription")
    setup_seconds = time.perf_counter() - t0

    connections.close_all()
    analyzer = _Analyzer(args.analyze_every) if args.analyze_every > 0 else None
    started = time.perf_counter()
    if analyzer:
        analyzer.start()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(_worker, [(args.chunk_size,)] * args.workers)
    elapsed = time.perf_counter() - started
    if analyzer:
        analyzer.stop.set()
        analyzer.join()
    check = _verify(args.subscriptions)
    report = {"subscriptions": args.subscriptions, "workers": args.workers, "chunk_size": args.chunk_size,
              "setup_seconds": round(setup_seconds, 1), "billing_seconds": round(elapsed, 1),
              "invoices_charged_per_second": round(check["paid"] / elapsed, 1), "workers_detail": results,
              "analyzes_during_run": analyzer.runs if analyzer else 0, "check": check, "cpus": os.cpu_count()}
    print(json.dumps(report, indent=2))
    ok = (check["invoices"] == check["paid"] == check["payments_succeeded"] == args.subscriptions
          and check["subscriptions_with_two"] == 0 and check["numbers_gapless"])
    if not ok:
        raise SystemExit("verification failed")


if __name__ == "__main__":
    main()
