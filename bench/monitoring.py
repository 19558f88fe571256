"""Monitoring overhead: `POST /api/v1/transfers` throughput with the request metrics (and the request log,
when this build has it) on and off, in the same run.

Transfers are made sequentially for a fixed time through the whole request stack in this process
(Django's test client: every middleware, the API key, the throttle, DRF, the transfer's transaction), in
alternating on/off rounds so a neighbour's load on a shared machine falls on both sides; the medians are
compared. On is the production setting (`MONITORING_REQUEST_METRICS`, and `REQUEST_LOG_ENABLED` if the
settings define it); off turns both off with Django's override_settings. The recorder writes its minutes
from its background thread as in production. Checked: the on rounds' transfers were all counted by the
recorder under the route pattern, the off rounds' none.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_monitoring_bench \\
        .venv/bin/python bench/monitoring.py --seconds 10 --rounds 3

The database is created and migrated if needed; use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time

from scratchdb import ensure_database, rest_transfer_door, setup_django, timed_transfers

START_BALANCE = 10**12  # minor units; no bench transfer is refused for funds
ROUTE = "POST /api/v1/transfers"
# One key makes every transfer: this process's own rate limit is not what is measured.
os.environ.setdefault("API_RATE_LIMIT", "1000000/min")
os.environ.setdefault("MONITORING_METRICS_FLUSH", "background")


def _switches() -> dict[str, bool]:
    """The settings turned off in the off rounds: the request log's only if this build has it."""
    from django.conf import settings

    off = {"MONITORING_REQUEST_METRICS": False}
    if hasattr(settings, "REQUEST_LOG_ENABLED"):
        off["REQUEST_LOG_ENABLED"] = False
    return off


def _observed(since: dt.datetime) -> int:
    """Transfers this process's recorder counted since the run started (written and still held)."""
    from django.db.models import Sum

    from monitoring import recorder
    from monitoring.models import RequestMetricMinute

    recorder.flush()
    written = RequestMetricMinute.objects.filter(process=recorder.process_name(), kind="rest", name=ROUTE,
                                                 minute__gte=since.replace(second=0, microsecond=0))
    return written.aggregate(n=Sum("count"))["n"] or 0


def _drain_request_log() -> None:
    from django.conf import settings

    if getattr(settings, "REQUEST_LOG_ENABLED", False):
        from monitoring import requestlog

        requestlog.flush()


def _logged(since: dt.datetime) -> int | None:
    """Transfers in the request log since the run started (None in a build without one)."""
    from django.conf import settings

    if not hasattr(settings, "REQUEST_LOG_ENABLED"):
        return None
    from monitoring import requestlog
    from monitoring.models import RequestLog

    requestlog.flush()
    return RequestLog.objects.filter(route=ROUTE, created__gte=since).count()


def run(wallet_count: int, seconds: float, rounds: int) -> dict:
    from django.test.utils import override_settings
    from scratchdb import funded_wallets

    from core import clock

    wallets = [w for w, _ in funded_wallets(wallet_count, domain="monitoring.bench.example", balance=START_BALANCE)]
    transfer = rest_transfer_door("monitoring")
    rng = random.Random(7)
    timed_transfers(transfer, wallets, min(1.0, seconds), rng)  # warm-up: connections, caches, plans
    started = clock.now()
    counted_before = _observed(started)
    off = _switches()
    on_runs: list[float] = []
    off_runs: list[float] = []
    made = {"on": 0, "off": 0}
    for r in range(rounds):
        for side in ("on", "off") if r % 2 == 0 else ("off", "on"):
            began = time.perf_counter()
            if side == "on":
                done = timed_transfers(transfer, wallets, seconds, rng)
                # The request log's rows are redacted and written by a thread of this process: the round
                # waits for the last ones, so their cost falls in the round that made them.
                _drain_request_log()
                on_runs.append(done / (time.perf_counter() - began))
            else:
                with override_settings(**off):
                    done = timed_transfers(transfer, wallets, seconds, rng)
                off_runs.append(done / (time.perf_counter() - began))
            made[side] += done
    counted = _observed(started) - counted_before
    logged = _logged(started)
    on, off_tps = statistics.median(on_runs), statistics.median(off_runs)
    return {"on_tps": round(on, 1), "off_tps": round(off_tps, 1),
            "on_over_off": round(on / off_tps, 3) if off_tps else None,
            "slower_with_monitoring": round(1 - on / off_tps, 3) if off_tps else None,
            "on_runs": [round(x, 1) for x in on_runs], "off_runs": [round(x, 1) for x in off_runs],
            "switched_off": sorted(off), "request_log": "REQUEST_LOG_ENABLED" in off,
            "check": {"on_transfers": made["on"], "off_transfers": made["off"], "recorded": counted,
                      "logged": logged,
                      "ok": counted == made["on"] and (logged is None or logged == made["on"])}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--rounds", type=int, default=3, help="on/off runs each; medians reported")
    parser.add_argument("--wallets", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)

    setup_django()
    ensure_database("bench/monitoring.py")
    from django.db import connection

    result = run(args.wallets, args.seconds, args.rounds)
    meta = {"seconds": args.seconds, "rounds": args.rounds, "wallets": args.wallets, "cpus": os.cpu_count(),
            "postgres": connection.cursor().connection.info.server_version, "python": sys.version.split()[0]}
    if args.json:
        print(json.dumps({**result, "meta": meta}))
    else:
        print(f"monitoring bench: {meta}")
        what = "request metrics and request log" if result["request_log"] else \
            "request metrics (this build has no request log: REQUEST_LOG_ENABLED undefined)"
        print(f"POST /api/v1/transfers with {what}: on {result['on_tps']:.1f}/s, off {result['off_tps']:.1f}/s, "
              f"ratio on/off {result['on_over_off']:.3f} ({result['slower_with_monitoring']:.1%} slower)  "
              f"runs on {result['on_runs']} / off {result['off_runs']}  check {result['check']}")
    return 0 if result["check"]["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
