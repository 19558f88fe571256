"""Events: webhook deliveries per second through the real path, and what writing events costs a transfer.

1. Deliveries: N events written with `emit_many` (one customer's `customer.updated`, as a batch
   service writes them), then timed together: the relay's `dispatch_pending` (the webhooks fan-out:
   one delivery and one outbox row per event), `relay_once` handing the due rows over, and the
   `webhooks.deliver` task's code run by `--threads` threads (a worker's `--pool threads`), each
   attempt signed and POSTed to a receiver in this process (a threaded HTTP server answering 200).
   Checked first: the receiver saw each event exactly once (its `webhook-id`), every delivery
   succeeded, no outbox row is left unsent.
2. Transfers, sequentially for a fixed time with events on and off, alternating rounds, through two
   doors: the service (`wallets.services.wallet_transfer`) and `POST /api/v1/transfers` (the whole
   request stack in this process, Django's test client). Off swaps the `emit` the transfer calls for
   a no-op in this process only (there is no setting for it: production always writes events).
   Checked: the on rounds wrote one `wallet.transfer.created` event per transfer, the off rounds none.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_events_bench \\
        .venv/bin/python bench/events.py --events 10000 --threads 4 --seconds 10 --rounds 3

The database is created and migrated if needed; use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from scratchdb import ensure_database, rest_transfer_door, setup_django, timed_transfers

START_BALANCE = 10**12  # minor units; no bench transfer is refused for funds

# The receiver is on 127.0.0.1 over plain HTTP: allowed for this process only.
os.environ["WEBHOOK_ALLOW_INSECURE"] = "true"
os.environ["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "true"
# One key makes every REST transfer: this process's own rate limit is not what is measured.
os.environ.setdefault("API_RATE_LIMIT", "1000000/min")
# Endpoint secrets are stored encrypted; a run reads only the endpoint it made (as bench/http.py does).
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", base64.b64encode(secrets.token_bytes(32)).decode())


class Receiver:
    """A local endpoint answering 200 at once, counting each `webhook-id` it is sent."""

    def __init__(self):
        # Imported here, after scratchdb moved bench/ (and its http.py) to the end of sys.path.
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.lock = threading.Lock()
        self.seen: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The answer's headers and body are two writes: no Nagle wait for the client's delayed ACK
            # (a precaution: the bench measures the delivery path, not its receiver).
            disable_nagle_algorithm = True

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                msg_id = self.headers.get("webhook-id", "")
                with receiver.lock:
                    receiver.seen[msg_id] = receiver.seen.get(msg_id, 0) + 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _quiet_previous_runs() -> None:
    """A scratch database keeps earlier runs' endpoints and undelivered events: not this run's work."""
    from core import clock
    from core.models import Event, OutboxMessage
    from webhooks.models import WebhookEndpoint

    WebhookEndpoint.objects.filter(enabled=True).update(enabled=False)
    Event.objects.filter(dispatched_at__isnull=True).update(dispatched_at=clock.now())
    OutboxMessage.objects.filter(sent_at__isnull=True).update(sent_at=clock.now())


def deliveries(count: int, threads: int, batch: int) -> dict:
    from django.db import close_old_connections, transaction

    from accounts.services import customer_create
    from core.context import Actor
    from core.events import build, dispatch_pending, emit_many
    from core.models import OutboxMessage
    from core.outbox import relay_once
    from webhooks.delivery import attempt_delivery
    from webhooks.models import WebhookDelivery
    from webhooks.services import DELIVER_TASK, webhook_endpoint_create

    actor = Actor.system("bench")
    _quiet_previous_runs()
    receiver = Receiver()
    endpoint = webhook_endpoint_create(actor=actor, url=receiver.url, enabled_events=["customer.updated"])
    customer = customer_create(actor=actor, email=f"events{time.time_ns()}@bench.example")
    made = time.perf_counter()
    ids = []
    for start in range(0, count, 1000):
        with transaction.atomic():
            rows = [build("customer.updated", customer, actor=actor) for _ in range(min(1000, count - start))]
            ids += [e.pk for e in emit_many(rows)]
    write_seconds = time.perf_counter() - made

    def run(message):
        try:
            return attempt_delivery(*message.args)
        finally:
            # What Celery's Django fixup does after each task: the thread's connection is kept for
            # CONN_MAX_AGE, as a worker keeps it.
            close_old_connections()

    started = time.perf_counter()
    fan_out = relayed = 0.0
    with ThreadPoolExecutor(threads) as pool:
        while True:
            t0 = time.perf_counter()
            while dispatch_pending(batch=batch):
                pass
            t1 = time.perf_counter()
            taken: list = []
            relay_once(publish=taken.append, batch=batch)
            t2 = time.perf_counter()
            fan_out, relayed = fan_out + t1 - t0, relayed + t2 - t1
            if not taken:
                break
            assert {m.task for m in taken} == {DELIVER_TASK}
            results = list(pool.map(run, taken))
            assert results == [True] * len(taken), "a delivery failed"
    seconds = time.perf_counter() - started
    receiver.close()

    deliveries_made = WebhookDelivery.objects.filter(endpoint=endpoint)
    check = {
        "events": len(ids),
        "received_distinct": len(set(receiver.seen) & set(ids)),
        "received_more_than_once": sum(1 for n in receiver.seen.values() if n > 1),
        "deliveries_succeeded": deliveries_made.filter(status="succeeded", attempts=1).count(),
        "outbox_unsent": OutboxMessage.objects.filter(sent_at__isnull=True).count(),
    }
    check["ok"] = (check["received_distinct"] == check["deliveries_succeeded"] == count
                   and len(receiver.seen) == count and check["received_more_than_once"] == 0
                   and check["outbox_unsent"] == 0)
    return {"deliveries_per_second": round(count / seconds, 1), "seconds": round(seconds, 2),
            "fan_out_seconds": round(fan_out, 2), "relay_seconds": round(relayed, 2),
            "write_events_seconds": round(write_seconds, 2), "check": check}


def _bench_wallets(count: int) -> list[str]:
    """Ids of `count` funded USD bench wallets, created once through the services."""
    from scratchdb import funded_wallets

    return [wallet for wallet, _ in funded_wallets(count, domain="events.bench.example", balance=START_BALANCE)]


@contextmanager
def events_off():
    """The transfer's `emit` (imported by name into wallets.services.movements) as a no-op."""
    from wallets.services import movements

    real = movements.emit
    movements.emit = lambda *args, **kwargs: None
    try:
        yield
    finally:
        movements.emit = real


def _service_door():
    from core.context import Actor
    from wallets.services import wallet_transfer

    actor = Actor.system("bench")

    def transfer(a: str, b: str, amount: int) -> None:
        wallet_transfer(actor=actor, from_wallet_id=a, to_wallet_id=b, amount=amount, currency="USD")

    return transfer


def transfers(door: str, wallet_count: int, seconds: float, rounds: int) -> dict:
    from core.models import Event

    wallets = _bench_wallets(wallet_count)
    transfer = rest_transfer_door("events") if door == "rest" else _service_door()
    rng = random.Random(7)
    timed_transfers(transfer, wallets, min(1.0, seconds), rng)  # warm-up: connections, caches, plans
    on_runs: list[float] = []
    off_runs: list[float] = []
    transfer_events = Event.objects.filter(type="wallet.transfer.created")
    written = {"on": 0, "off": 0, "on_transfers": 0, "off_transfers": 0}
    for r in range(rounds):
        # Alternating the order spreads a neighbour's load fairly over both sides on a shared machine.
        for side in ("on", "off") if r % 2 == 0 else ("off", "on"):
            before = transfer_events.count()
            if side == "on":
                done = timed_transfers(transfer, wallets, seconds, rng)
                on_runs.append(done / seconds)
            else:
                with events_off():
                    done = timed_transfers(transfer, wallets, seconds, rng)
                off_runs.append(done / seconds)
            written[side] += transfer_events.count() - before
            written[f"{side}_transfers"] += done
    on, off = statistics.median(on_runs), statistics.median(off_runs)
    return {"events_on_tps": round(on, 1), "events_off_tps": round(off, 1),
            "slower_with_events": round(1 - on / off, 3) if off else None,
            "on_runs": [round(x, 1) for x in on_runs], "off_runs": [round(x, 1) for x in off_runs],
            "check": {**written, "ok": written["on"] == written["on_transfers"] and written["off"] == 0}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4, help="threads running the deliver task")
    parser.add_argument("--batch", type=int, default=200, help="relay batch (dispatch_pending, relay_once)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per transfer run")
    parser.add_argument("--rounds", type=int, default=3, help="events on/off transfer runs each; medians reported")
    parser.add_argument("--wallets", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)

    setup_django()
    ensure_database("bench/events.py")
    from django.db import connection

    delivered = deliveries(args.events, args.threads, args.batch)
    transferred = {door: transfers(door, args.wallets, args.seconds, args.rounds) for door in ("service", "rest")}
    meta = {"events": args.events, "threads": args.threads, "batch": args.batch, "seconds": args.seconds,
            "rounds": args.rounds, "wallets": args.wallets, "cpus": os.cpu_count(),
            "postgres": connection.cursor().connection.info.server_version, "python": sys.version.split()[0]}
    ok = delivered["check"]["ok"] and all(t["check"]["ok"] for t in transferred.values())
    if args.json:
        print(json.dumps({"deliveries": delivered, "transfers": transferred, "meta": meta, "ok": ok}))
    else:
        print(f"events bench: {meta}")
        print(f"deliveries: {delivered['deliveries_per_second']:.1f}/s ({args.events} in {delivered['seconds']} s: "
              f"fan-out {delivered['fan_out_seconds']} s, relay {delivered['relay_seconds']} s; "
              f"writing the events took {delivered['write_events_seconds']} s)  check {delivered['check']}")
        for door, t in transferred.items():
            print(f"transfers ({door}): events on {t['events_on_tps']:.1f}/s, off {t['events_off_tps']:.1f}/s, "
                  f"{t['slower_with_events']:.1%} slower with events  runs on {t['on_runs']} / off {t['off_runs']}"
                  f"  check {t['check']}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
