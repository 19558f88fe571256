"""Ledger throughput: the transfer service against the same transaction in raw SQL (psycopg).

Both sides run in worker processes (default 8), each with its own connection, for a fixed
time, and write the same rows per transfer: lock both wallet rows and both account rows in
id order, check status and overdraft, insert the journal entry, two postings and an audit
event, update both balances, commit. Two shapes: transfers spread over many wallets, and
every transfer paying into one hot wallet. After the runs the ledger is verified.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_ledger_bench \\
        .venv/bin/python bench/ledger.py --workers 8 --seconds 10 --rounds 3

The database is created and migrated if needed; use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import time

from scratchdb import conninfo, ensure_database, funded_wallets, setup_django

START_BALANCE = 10**12  # minor units; large enough that no bench transfer is refused for funds


def _bench_wallets(count: int) -> list[tuple[str, int]]:
    """(wallet id, account id) of `count` funded bench wallets, created once through the services."""
    return funded_wallets(count, domain="bench.example", balance=START_BALANCE)


def _pairs(rng, wallets, hot: bool):
    while True:
        if hot:
            yield rng.choice(wallets[1:]), wallets[0]
        else:
            a, b = rng.sample(wallets, 2)
            yield a, b


def _service_worker(args):
    wallets, hot, seconds, seed, start_at = args
    setup_django()
    from core.context import Actor
    from wallets import services

    actor = Actor.system("bench")
    pairs = _pairs(random.Random(seed), wallets, hot)
    time.sleep(max(0.0, start_at - time.time()))
    done, deadline = 0, start_at + seconds
    while time.time() < deadline:
        (a, _), (b, _) = next(pairs)
        amount = rng_amount(done)
        services.wallet_transfer(actor=actor, from_wallet_id=a, to_wallet_id=b, amount=amount, currency="USD")
        done += 1
    return done


def rng_amount(n: int) -> int:
    return 1 + n % 997


def _raw_worker(args):
    wallets, hot, seconds, seed, start_at = args
    setup_django()
    import psycopg
    from psycopg.types.json import Jsonb

    conn = psycopg.connect(**conninfo())
    pairs = _pairs(random.Random(seed), wallets, hot)
    time.sleep(max(0.0, start_at - time.time()))
    done, deadline = 0, start_at + seconds
    while time.time() < deadline:
        (wa, aa), (wb, ab) = next(pairs)
        amount = rng_amount(done)
        for attempt in range(5):
            try:
                with conn.transaction():
                    _raw_transfer(conn, Jsonb, wa, aa, wb, ab, amount)
                break
            except psycopg.errors.DeadlockDetected:
                if attempt == 4:
                    raise
        done += 1
    conn.close()
    return done


def _raw_transfer(conn, Jsonb, wa, aa, wb, ab, amount):
    from django.utils import timezone

    from core.ids import new_id

    now = timezone.now()
    wallets = conn.execute("SELECT id, status, currency FROM wallets_wallet WHERE id = ANY(%s) ORDER BY id "
                           "FOR UPDATE", ([wa, wb],)).fetchall()
    if len(wallets) != 2 or any(status != "active" or cur != "USD" for _, status, cur in wallets):
        raise RuntimeError("bench wallets must be active USD wallets")
    accounts = {row[0]: row for row in conn.execute(
        "SELECT id, balance, pending_debits, allow_negative FROM wallets_ledgeraccount WHERE id = ANY(%s) "
        "ORDER BY id FOR UPDATE", ([aa, ab],)).fetchall()}
    if accounts[aa][1] - amount - accounts[aa][2] < 0:
        raise RuntimeError("insufficient funds in a bench wallet")
    entry_id = new_id("txn")
    metadata = {"from_wallet_id": wa, "to_wallet_id": wb, "amount": amount, "currency": "USD"}
    conn.execute("INSERT INTO wallets_journalentry (id, kind, description, actor_type, actor_id, actor_label, "
                 "idempotency_key, metadata, reverses_id, created) VALUES (%s, 'transfer', %s, 'system', 'bench', "
                 "'bench', '', %s, NULL, %s)", (entry_id, f"Transfer to {wb}", Jsonb(metadata), now))
    new_a, new_b = accounts[aa][1] - amount, accounts[ab][1] + amount
    conn.execute("INSERT INTO wallets_posting (entry_id, account_id, amount, currency, balance_after, kind, created) "
                 "VALUES (%s, %s, %s, 'USD', %s, 'transfer', %s), (%s, %s, %s, 'USD', %s, 'transfer', %s)",
                 (entry_id, aa, -amount, new_a, now, entry_id, ab, amount, new_b, now))
    conn.execute("UPDATE wallets_ledgeraccount SET balance = %s, version = version + 1, updated = %s WHERE id = %s",
                 (new_a, now, aa))
    conn.execute("UPDATE wallets_ledgeraccount SET balance = %s, version = version + 1, updated = %s WHERE id = %s",
                 (new_b, now, ab))
    conn.execute("INSERT INTO core_auditevent (id, occurred_at, action, outcome, actor_type, actor_id, actor_label, "
                 "object_type, object_id, request_id, user_agent, details) VALUES (%s, %s, 'wallet.transferred', "
                 "'success', 'system', 'bench', 'bench', 'wallets.wallet', %s, '', '', %s)",
                 (new_id("aud"), now, wa,
                  Jsonb({"entry_id": entry_id, "to_wallet_id": wb, "amount": amount, "currency": "USD"})))


def _run(worker, wallets, hot, workers, seconds) -> float:
    from django.db import connections

    connections.close_all()  # never share a connection with forked children
    start_at = time.time() + 1.0
    jobs = [(wallets, hot, seconds, 1000 + i, start_at) for i in range(workers)]
    with mp.get_context("fork").Pool(workers) as pool:
        counts = pool.map(worker, jobs)
    return sum(counts) / seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="service and raw runs alternate this many times per shape; medians are reported")
    parser.add_argument("--wallets", type=int, default=1000, help="wallets for the spread shape")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)

    setup_django()
    ensure_database("bench/ledger.py")
    wallets = _bench_wallets(args.wallets)
    from django.db import connection

    results = {}
    for shape, hot in (("spread", False), ("hot", True)):
        service_runs, raw_runs = [], []
        for r in range(args.rounds):
            # Alternating the order spreads a neighbour's load fairly over both sides on a shared machine.
            order = ((_service_worker, service_runs), (_raw_worker, raw_runs))
            for worker, runs in order if r % 2 == 0 else reversed(order):
                runs.append(_run(worker, wallets, hot, args.workers, args.seconds))
        service, raw = statistics.median(service_runs), statistics.median(raw_runs)
        results[shape] = {"service_tps": round(service, 1), "raw_sql_tps": round(raw, 1),
                          "ratio": round(service / raw, 3) if raw else None,
                          "service_runs": [round(x) for x in service_runs], "raw_runs": [round(x) for x in raw_runs]}

    from wallets.selectors.verify import ledger_verify

    report = ledger_verify()
    pg_version = connection.cursor().connection.info.server_version
    meta = {"workers": args.workers, "seconds": args.seconds, "rounds": args.rounds, "wallets": len(wallets),
            "cpus": os.cpu_count(), "postgres": pg_version, "python": sys.version.split()[0], "ledger_ok": report.ok}
    if args.json:
        print(json.dumps({"results": results, **meta}))
    else:
        print(f"ledger bench: {meta}")
        print(f"{'shape':<8} {'service tps':>12} {'raw SQL tps':>12} {'ratio':>7}   runs (service / raw)")
        for shape, r in results.items():
            print(f"{shape:<8} {r['service_tps']:>12.1f} {r['raw_sql_tps']:>12.1f} {r['ratio']:>7.1%}   "
                  f"{r['service_runs']} / {r['raw_runs']}")
        for problem in report.problems[:20]:
            print("LEDGER PROBLEM:", problem)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
