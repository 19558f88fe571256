"""The garbage collector's share of a REST transfer, with and without the request's reference cycles released.

Transfers go through Django's WSGI handler in this process (the server's entry point, without the test client,
whose own objects form cycles), after a warm-up. For each side, alternating: the objects each request leaves in
reference cycles (`gc.DEBUG_SAVEALL`), and the collector's time per request by generation (`gc.callbacks`).
"kept" is the same code with `core.middleware.release_rendered_context` made to do nothing, the baseline in the
same run. Then a full collection of the loaded process, as it is and after `gc.freeze()` (what
`config.serve.load_application` does in each worker).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_collector_bench REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/collector.py --requests 3000 --rounds 2

The database is created and migrated if needed; use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable

from scratchdb import ensure_database, funded_wallets, setup_django

os.environ.setdefault("API_RATE_LIMIT", "1000000/min")  # one key makes every transfer


def _transfer_door(wallets: list[str]) -> Callable[[int], None]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.handlers.wsgi import WSGIHandler

    from accounts.services import api_key_create, staff_user_create
    from core.context import Actor

    settings.ALLOWED_HOSTS = ["*"]
    actor = Actor.system("bench")
    user = get_user_model().objects.filter(username="collector-bench-admin").first()
    if user is None:
        user = staff_user_create(actor=actor, username="collector-bench-admin", password=secrets.token_urlsafe(24),
                                 role="admin", with_totp=False).user
    key = api_key_create(actor=actor, owner=user, name="collector bench", scopes="*").raw_key
    app = WSGIHandler()
    run = time.time_ns()

    def transfer(i: int) -> None:
        source, target = wallets[i % len(wallets)], wallets[(i + 1) % len(wallets)]
        body = json.dumps({"from_wallet_id": source, "to_wallet_id": target, "amount": "0.01",
                           "currency": "USD"}).encode()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/transfers", "QUERY_STRING": "",
                   "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost", "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": f"Bearer {key}",
                   "HTTP_IDEMPOTENCY_KEY": f"gc-{run}-{i}", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.errors": sys.stderr}
        status: list[str] = []
        result = app(environ, lambda s, headers, exc_info=None: status.append(s))
        content = b"".join(result)
        result.close()
        if not status[0].startswith("201"):
            raise RuntimeError(f"transfer answered {status[0]}: {content[:300]!r}")

    return transfer


def _left_in_cycles(send: Callable[[int], None], first: int, count: int) -> float:
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for i in range(first, first + count):
            send(i)
        gc.collect()
        return len(gc.garbage) / count
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _collector_time(send: Callable[[int], None], first: int, count: int) -> dict[str, float]:
    spent = {0: 0.0, 1: 0.0, 2: 0.0}
    passes = {0: 0, 1: 0, 2: 0}
    began = [0.0]

    def watch(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            spent[info["generation"]] += time.perf_counter() - began[0]
            passes[info["generation"]] += 1

    gc.collect()
    gc.callbacks.append(watch)
    cpu = time.process_time()
    try:
        for i in range(first, first + count):
            send(i)
    finally:
        cpu = time.process_time() - cpu
        gc.callbacks.remove(watch)
    return {"collector_us_per_request": round(sum(spent.values()) / count * 1e6, 1),
            "passes_by_generation": [passes[g] for g in (0, 1, 2)], "cpu_us_per_request": round(cpu / count * 1e6)}


def run(requests: int, rounds: int, wallet_count: int) -> dict:
    from core import middleware
    from wallets.models import JournalEntry

    wallets = [w for w, _ in funded_wallets(wallet_count, domain="collector.bench.example", balance=10**12)]
    send = _transfer_door(wallets)
    released = middleware.release_rendered_context
    sides = {"released": released, "kept": lambda response: None}
    before = JournalEntry.objects.count()
    sent = 0
    for _ in range(min(300, requests)):  # imports, caches, prepared statements
        send(sent)
        sent += 1
    found: dict[str, dict[str, list]] = {side: {"cycles": [], "time": []} for side in sides}
    try:
        for r in range(rounds):
            for side in sides if r % 2 == 0 else reversed(list(sides)):
                middleware.release_rendered_context = sides[side]
                found[side]["cycles"].append(_left_in_cycles(send, sent, 100))
                sent += 100
                found[side]["time"].append(_collector_time(send, sent, requests))
                sent += requests
    finally:
        middleware.release_rendered_context = released
    gc.collect()
    tracked = len(gc.get_objects())
    began = time.perf_counter()
    gc.collect()
    full_ms = (time.perf_counter() - began) * 1000
    gc.freeze()
    began = time.perf_counter()
    gc.collect()
    frozen_ms = (time.perf_counter() - began) * 1000
    gc.unfreeze()
    result: dict = {}
    for side, seen in found.items():
        collecting = [t["collector_us_per_request"] for t in seen["time"]]
        result[side] = {"objects_in_cycles_per_request": round(statistics.median(seen["cycles"]), 1),
                        "collector_us_per_request": round(statistics.median(collecting), 1), "runs": seen["time"]}
    result["full_collection"] = {"tracked_objects": tracked, "ms": round(full_ms, 1),
                                 "ms_after_freeze": round(frozen_ms, 3)}
    written = JournalEntry.objects.count() - before
    result["check"] = {"transfers_sent": sent, "entries_written": written, "ok": written == sent}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="transfers per timed run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per side, alternated; medians reported")
    parser.add_argument("--wallets", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the summary")
    args = parser.parse_args(argv)
    setup_django()
    ensure_database("bench/collector.py")
    result = run(args.requests, args.rounds, args.wallets)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"collector bench (python {sys.version.split()[0]}, {os.cpu_count()} cpus), per REST transfer:")
        for side in ("kept", "released"):
            runs = [(t["collector_us_per_request"], t["passes_by_generation"]) for t in result[side]["runs"]]
            print(f"  cycles {side:8s} {result[side]['objects_in_cycles_per_request']:7.1f} objects in cycles, "
                  f"{result[side]['collector_us_per_request']:6.1f} us collecting (runs, passes by generation: {runs})")
        full = result["full_collection"]
        print(f"  full collection of this process ({full['tracked_objects']} tracked objects): {full['ms']} ms; "
              f"after gc.freeze(): {full['ms_after_freeze']} ms")
        print(f"  check: {result['check']}")
    return 0 if result["check"]["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
