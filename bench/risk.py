"""Fraud scoring latency on PostgreSQL with many stored payments: the model alone (`inplace_predict`, one
row, one thread) and the whole score of a payment (feature queries over stored payments, the model, the
explanation, the staff rules), as the payment flow calls it.

Setup COPYs N payments (default 1,000,000) of C customers over one year into the scratch database (only
when fewer are there), trains a model on simulated data and activates it. Then it scores `--calls`
payments of random customers and merchants as of the end of the year and prints p50/p95/p99.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_risk_bench \\
        .venv/bin/python bench/risk.py --payments 1000000 --calls 2000

Use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import numpy as np
from scratchdb import ensure_database, setup_django

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=365)


def _populate(n: int, customers: int, merchants: int, rng) -> float:
    from django.db import connection

    from accounts.models import Customer
    from payments.models import Payment

    have = Payment.objects.filter(merchant_reference__startswith="bm-").count()
    if have >= n:
        return 0.0
    started = time.monotonic()
    existing = list(Customer.objects.filter(email__endswith="@riskbench.example").values_list("id", flat=True))
    if len(existing) < customers:
        Customer.objects.bulk_create([Customer(email=f"r{i}@riskbench.example", name=f"Risk {i}", country="US",
                                               kyc_status="verified", created=START, updated=START)
                                      for i in range(len(existing), customers)], batch_size=5000)
        existing = list(Customer.objects.filter(email__endswith="@riskbench.example").values_list("id", flat=True))
    template = Payment(customer_id=existing[0], amount=1, currency="USD", method="card", payment_method="tok_visa",
                       status="succeeded", created=START, updated=START)
    fields = [f for f in Payment._meta.concrete_fields]
    from django.db.models import JSONField

    base = {f.column: (json.dumps(getattr(template, f.attname)) if isinstance(f, JSONField)
                       else getattr(template, f.attname)) for f in fields}
    todo = n - have
    cust = rng.integers(len(existing), size=todo)
    seconds = np.sort(rng.integers(0, 365 * 86400, size=todo))
    amounts = np.exp(rng.normal(np.log(4000), 0.8, size=todo)).astype(np.int64) + 1
    merchant = rng.integers(merchants, size=todo)
    device = rng.integers(3, size=todo)
    labels = rng.random(todo)
    from core.ids import random_chars

    columns = [f.column for f in fields]
    with connection.cursor() as cur, cur.cursor.copy(
            f"COPY payments_payment ({', '.join(columns)}) FROM STDIN") as copy:
        for i in range(todo):
            at = START + dt.timedelta(seconds=int(seconds[i]))
            c = existing[cust[i]]
            row = dict(base, id=f"pay_{random_chars(24)}", customer_id=c, amount=int(amounts[i]),
                       amount_captured=int(amounts[i]), created=at, updated=at, merchant_reference=f"bm-{merchant[i]}",
                       device_id=f"{c}-d{device[i]}", ip_country="US", card_country="US", channel="web",
                       fraud_label=None if at > END - dt.timedelta(days=7) else bool(labels[i] < 0.01))
            copy.write_row([row[col] for col in columns])
    with connection.cursor() as cur:
        # VACUUM too: the merchant label counts are index-only scans once the visibility map is set
        # (autovacuum does it in production; a freshly copied table has none).
        cur.execute("VACUUM ANALYZE payments_payment")
    return time.monotonic() - started


def _model():
    from core.context import Actor
    from core.ml.registry import model_active
    from payments.risk import model
    from payments.risk.dataset import rows_to_frame
    from payments.risk.simulate import simulate

    if model_active(model.NAME) is None:
        frame = rows_to_frame(simulate(customers=300, days=120, seed=5, start=dt.date(2029, 6, 1)))
        model.register(actor=Actor.system("bench"), trained=model.train(frame), data_fingerprint="0" * 64,
                       activate=True)


def _percentiles(samples: list[float]) -> dict:
    a = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "max_ms": round(float(a.max()), 3), "calls": len(a)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=0, help="default: payments / 100")
    parser.add_argument("--merchants", type=int, default=0, help="default: payments / 1000")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    setup_django()
    ensure_database("bench/risk.py")
    from payments.models import Payment
    from payments.risk import RiskContext
    from payments.risk.scorer import active_model, model_scorer

    rng = np.random.default_rng(1)
    customers = args.customers or max(args.payments // 100, 10)
    merchants = args.merchants or max(args.payments // 1000, 5)
    populate_s = _populate(args.payments, customers, merchants, rng)
    _model()
    loaded = active_model()
    booster, width = loaded["booster"], len(loaded["features"])
    X = rng.random((args.calls, width)).astype(np.float32)
    alone = []
    for i in range(args.calls):
        t = time.perf_counter()
        booster.inplace_predict(X[i:i + 1], validate_features=False)
        alone.append(time.perf_counter() - t)
    ids = list(Payment.objects.filter(merchant_reference__startswith="bm-").values_list("customer_id", flat=True)
               .distinct()[:5000])
    whole, by_model = [], 0
    for i in range(args.calls):
        ctx = RiskContext(customer_id=ids[i % len(ids)], customer_status="active", amount=int(rng.integers(500, 90000)),
                          currency="USD", method="card", channel="web", device_id=f"{ids[i % len(ids)]}-d0",
                          ip_country="US", card_country="US", merchant_reference=f"bm-{rng.integers(merchants)}",
                          at=END)
        t = time.perf_counter()
        result = model_scorer(ctx)
        whole.append(time.perf_counter() - t)
        by_model += result.model_version == loaded["version"] and bool(result.explanation)
    stored = Payment.objects.filter(merchant_reference__startswith="bm-").count()
    print(json.dumps({"stored_payments": stored, "customers": customers, "merchants": merchants,
                      "populate_seconds": round(populate_s, 1), "model": loaded["version"],
                      "scored_by_model_with_explanation": by_model,
                      "model_alone": _percentiles(alone[10:]), "score_with_features": _percentiles(whole[10:])}))


if __name__ == "__main__":
    main()
