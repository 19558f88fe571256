"""The request log's cost per logged request, split where it is paid, against the request it logs.

Real entries first: REST transfers through the whole stack in this process (Django's test client) with the log
on and its writer held back, so each request's captured entry stays queued; the same number of transfers with
the log off is the baseline, alternating. Then, on those entries: building the rows (parsing the bodies,
redaction, the model instance), inserting them as the writer does (`rawrows.copy_in`: COPY on PostgreSQL) in
batches, and, for comparison, `bulk_create` of the same rows; and what a worker does instead behind
`config.serve`: send them to the writer process (`monitoring.logrelay`). CPU of this process (both threads) in
microseconds per request, and each as a share of a transfer's CPU with the log off.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_requestlog_bench \\
        .venv/bin/python bench/requestlog.py --requests 1000 --rounds 3

The database is created and migrated if needed; use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

from scratchdb import ensure_database, funded_wallets, rest_transfer_door, setup_django

os.environ.setdefault("API_RATE_LIMIT", "1000000/min")  # one key makes every transfer
BATCH = 100  # rows per statement: a server process's share of a second at 400 transfers/s


def _cpu_per_call(call, count: int) -> float:
    began = time.process_time()
    for i in range(count):
        call(i)
    return (time.process_time() - began) / count * 1e6


def _hand_over_cpu(entries: list) -> float:
    """CPU of this process per entry to send `entries` in batches as a server's worker does
    (`logrelay.RelayClient.send`), to a forked reader that discards them (its CPU is not this process's)."""
    import socket
    import tempfile

    from monitoring import logrelay

    path = os.path.join(tempfile.mkdtemp(prefix="bench-relay-"), "relay.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    pid = os.fork()
    if pid == 0:
        conn, _ = listener.accept()
        while conn.recv(1 << 20):
            pass
        os._exit(0)
    listener.close()
    client = logrelay.RelayClient(path)
    per_row = _cpu_per_call(lambda i: client.send(entries[i * BATCH:(i + 1) * BATCH]), len(entries) // BATCH) / BATCH
    client.close()
    os.waitpid(pid, 0)
    os.unlink(path)
    os.rmdir(os.path.dirname(path))
    return per_row


def run(requests: int, rounds: int, wallet_count: int) -> dict:
    from django.test.utils import override_settings

    from core import rawrows
    from monitoring import requestlog
    from monitoring.models import RequestLog

    wallets = [w for w, _ in funded_wallets(wallet_count, domain="requestlog.bench.example", balance=10**12)]
    transfer = rest_transfer_door("requestlog")
    rng = random.Random(11)

    def one(i: int) -> None:
        a, b = rng.sample(wallets, 2)
        transfer(a, b, 1 + i % 997)

    # The writer thread never wakes: its wait is long and no batch is ever full.
    held = {"REQUEST_LOG_ENABLED": True, "REQUEST_LOG_BACKGROUND": True, "REQUEST_LOG_FLUSH_SECONDS": 10**6,
            "REQUEST_LOG_BATCH_SIZE": 10**7, "REQUEST_LOG_MAX_PENDING": 10**7}
    with override_settings(REQUEST_LOG_ENABLED=False):
        _cpu_per_call(one, 100)  # warm-up: connections, caches, plans
    off, on, entries = [], [], []
    for r in range(rounds):
        for side in ("off", "on") if r % 2 == 0 else ("on", "off"):
            if side == "off":
                with override_settings(REQUEST_LOG_ENABLED=False):
                    off.append(_cpu_per_call(one, requests))
            else:
                with override_settings(**held):
                    on.append(_cpu_per_call(one, requests))
                with requestlog._writer._lock:
                    entries, requestlog._writer._pending = requestlog._writer._pending, []
    if len(entries) != requests:
        raise SystemExit(f"expected {requests} captured entries, found {len(entries)}")

    rows: list = []
    build = _cpu_per_call(lambda i: rows.append(requestlog._row(entries[i])), len(entries))
    again = [requestlog._row(entry) for entry in entries]  # the same rows with their own keys, for bulk_create
    before = RequestLog.objects.count()
    copy = _cpu_per_call(lambda i: rawrows.copy_in(rows[i * BATCH:(i + 1) * BATCH]), len(rows) // BATCH) / BATCH
    bulk = _cpu_per_call(lambda i: RequestLog.objects.bulk_create(again[i * BATCH:(i + 1) * BATCH]),
                         len(again) // BATCH) / BATCH
    written = RequestLog.objects.count() - before
    hand_over = _hand_over_cpu(entries)
    base, logged = statistics.median(off), statistics.median(on)
    capture = logged - base
    total = capture + build + copy
    return {"transfer_cpu_us_log_off": round(base, 1), "transfer_cpu_us_log_on_unwritten": round(logged, 1),
            "capture_us": round(capture, 1), "row_build_us": round(build, 1), "copy_us_per_row": round(copy, 1),
            "bulk_create_us_per_row": round(bulk, 1), "log_total_us": round(total, 1),
            # Behind config.serve a worker only does this; the row is built and copied by the writer process.
            "hand_over_us_per_row": round(hand_over, 1),
            "worker_log_us_with_writer_process": round(capture + hand_over, 1),
            "hand_over_over_build_and_copy": round(hand_over / (build + copy), 3),
            "log_share_of_transfer": round(total / base, 3), "copy_over_bulk_create": round(copy / bulk, 3),
            "off_runs": [round(x) for x in off], "on_runs": [round(x) for x in on],
            "check": {"entries": len(entries), "rows_written": written, "ok": written == 2 * (len(rows) // BATCH)
                      * BATCH}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help=f"transfers per run (a multiple of {BATCH})")
    parser.add_argument("--rounds", type=int, default=3, help="log on/off runs each; medians reported")
    parser.add_argument("--wallets", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)
    if args.requests < BATCH or args.requests % BATCH:
        parser.error(f"--requests must be a multiple of {BATCH}")
    setup_django()
    ensure_database("bench/requestlog.py")
    result = run(args.requests, args.rounds, args.wallets)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"request log bench (python {sys.version.split()[0]}, {os.cpu_count()} cpus), CPU us per request:")
        for key, value in result.items():
            print(f"  {key:34s} {value}")
    return 0 if result["check"]["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
