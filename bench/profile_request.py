"""Where one request's time goes: N REST transfers (`POST /api/v1/transfers`) and N MCP
`create_payment` calls through Django's full stack in one process (middleware, DRF, the door, the
service), under cProfile. Prints client CPU and SQL statements per request and the functions with
the most cumulative and own time, so the cost of the doors can be told from the cost of the write.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_profile \\
        .venv/bin/python bench/profile_request.py --requests 300

Use a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import re
import statistics
import subprocess
import time

from scratchdb import ROOT, ensure_database, funded_wallets, process_cpu, setup_django

START_BALANCE = 10**12  # minor units: no profiled transfer is refused for funds


def _setup(wallets: int):
    from django.conf import settings

    from accounts import services as accounts
    from core.context import Actor
    from core.ids import random_chars

    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    actor = Actor.system("bench")
    # The password shares nothing with the username: Django's similarity check refused a username
    # that happened to be close to a fixed one.
    staff = accounts.staff_user_create(actor=actor, username=f"profile-{random_chars(8)}",
                                       password=f"Zq{random_chars(20)}", role="admin", with_totp=False)
    key = accounts.api_key_create(actor=actor, owner=staff.user, name="profile", scopes="*")
    ids = [wallet for wallet, _ in funded_wallets(wallets, domain="profile.bench.example", balance=START_BALANCE)]
    customer = accounts.customer_create(actor=actor, email=f"payer-{random_chars(8).lower()}@payers.profile.example")
    return key.raw_key, ids, customer.pk


def _profile(label: str, send, *, requests: int, cprofile: bool, dump: str, show_sql: bool, callgrind: bool,
             phases: bool) -> None:
    from django.db import connection

    send(-1)  # warm caches and imports outside the measurement
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # Unprofiled first: the real cost per request (cProfile roughly doubles the CPU).
    backend = _backend_pid()
    _callgrind("on", callgrind)
    wal_start = _wal_mark(backend)
    wall, cpu, database_cpu = time.perf_counter(), time.process_time(), process_cpu(backend)
    with connection.execute_wrapper(count):
        for i in range(requests):
            send(i)
    wall, cpu = (time.perf_counter() - wall) / requests, (time.process_time() - cpu) / requests
    database_cpu = (process_cpu(backend) - database_cpu) / requests
    _callgrind("off", callgrind)
    wal_end = _wal_mark(backend)
    # BEGIN/COMMIT/SAVEPOINT go through the connection, not a cursor: counted as the commits of the
    # ledger tests are, so these are the statements a cursor sent.
    print(f"\n== {label}: {requests} requests; per request {wall * 1000:.2f} ms wall, {cpu * 1000:.2f} ms "
          f"CPU of this process, {len(statements) / requests:.1f} cursor statements")
    if backend:
        # The connection must have lasted the whole loop for its backend's CPU to be the requests' own.
        same = _backend_pid() == backend
        print(f"   PostgreSQL backend CPU {database_cpu * 1000:.2f} ms per request"
              + ("" if same else " (NOT COMPARABLE: the connection was replaced during the loop)"))
        print(f"   WAL per request (the whole server's: run it alone): {_wal_summary(wal_start, wal_end, requests)}")
    if show_sql:
        del statements[:]
        with connection.execute_wrapper(count):
            send(2 * requests)
        print("-- the statements of one request")
        for sql in statements:
            print(f"   {sql[:160]}")
    if phases:
        lined_up, cut = _phases(send, first=3 * requests + 1, requests=requests)
        print(f"-- where a request's time goes between its statements (medians of the {lined_up} of {requests} "
              f"requests that sent the usual statements)")
        for name, seconds in cut:
            print(f"   {name:<34} {seconds * 1000:7.2f} ms")
    if not cprofile:
        return
    # CPU time, not wall: the round trips to PostgreSQL are waiting, and waiting is not what caps the rate.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for i in range(2 * requests + 1, 3 * requests + 1):
        send(i)
    profiler.disable()
    if dump:
        profiler.dump_stats(f"{dump}-{label.split()[0].lower()}.prof")
    print("-- own time by package (profiled run)")
    for package, seconds in _by_package(profiler):
        print(f"   {package:<28} {seconds / requests * 1000:7.2f} ms per request")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(25)
        print(f"-- top by {order} (profiled run)")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def _phases(send, *, first: int, requests: int) -> tuple[int, list[tuple[str, float]]]:
    """Each request's wall time cut at its cursor statements: before the first, each statement, between two, after the
    last (the commit and the response). Where a statement takes a row lock, what follows it up to the commit is how
    long the lock is held: on a hot row, the queue."""
    from django.db import connection

    cuts: list[list[float]] = []
    for i in range(first, first + requests):
        marks: list[float] = []

        def timed(execute, sql, params, many, context, marks=marks):
            marks.append(time.perf_counter())
            try:
                return execute(sql, params, many, context)
            finally:
                marks.append(time.perf_counter())

        began = time.perf_counter()
        with connection.execute_wrapper(timed):
            send(i)
        edges = [began, *marks, time.perf_counter()]
        cuts.append([later - earlier for earlier, later in itertools.pairwise(edges)])
    # Requests line up only with the same statements: a periodic read (routing statistics) adds one now and then.
    usual = statistics.mode(len(cut) for cut in cuts)
    cuts = [cut for cut in cuts if len(cut) == usual]
    count = (usual - 1) // 2
    names = ["before statement 1"]
    for n in range(1, count + 1):
        names += [f"statement {n}", f"between statements {n} and {n + 1}" if n < count else f"after statement {n}"]
    return len(cuts), [(name, statistics.median(cut[k] for cut in cuts)) for k, name in enumerate(names)]


def _backend_pid() -> int:
    """The PostgreSQL backend serving this process's connection (0 on SQLite): on the same machine its CPU
    is read from /proc, the database's share of each request."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wal_mark(backend: int) -> str:
    """The server's WAL insert position ('' on SQLite), once the request log's writer has written what it holds:
    the rows a request leaves behind count as its own."""
    from django.db import connection

    from monitoring import requestlog

    if not backend:
        return ""
    requestlog.flush()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return cursor.fetchone()[0]


def _wal_summary(start: str, end: str, requests: int) -> str:
    """What the requests wrote to the WAL: every row and index entry, a count that CPU time on a shared machine
    blurs. pg_waldump, when this machine has it and may read the WAL, splits it into records; full-page images
    (after each checkpoint) are left out of the bytes compared between runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(%s, %s)::bigint, current_setting('data_directory'), "
                       "current_setting('server_version_num')::int / 10000", [end, start])
        size, data_directory, major = cursor.fetchone()
    if not size:
        return "none"
    waldump = f"/usr/lib/postgresql/{major}/bin/pg_waldump"
    said = f"{size / requests / 1024:.1f} KiB"
    if not (os.access(waldump, os.X_OK) and os.access(f"{data_directory}/pg_wal", os.R_OK)):
        return said + " (pg_waldump cannot read the WAL here: no record counts)"
    done = subprocess.run([waldump, "-p", f"{data_directory}/pg_wal", "-s", start, "-e", end, "--stats=record"],
                          capture_output=True, text=True)
    if done.returncode:
        return said + f" (pg_waldump: {done.stderr.strip()[:200]})"
    # A line of --stats=record: the type, then its records and sizes (records, full-page images, combined) with
    # their percentages; the integers are those counts and sizes.
    counts = {line.split()[0]: [int(n) for n in re.findall(r"(?<![.\d])\d+(?![.\d])", line.split(None, 1)[1])]
              for line in done.stdout.splitlines()
              if re.match(r"(Total|Btree/INSERT_LEAF|Heap/INSERT|Heap/INSERT\+INIT) ", line)}
    records, record_bytes, image_bytes = counts["Total"][:3]
    index_entries = counts.get("Btree/INSERT_LEAF", [0])[0]
    rows = counts.get("Heap/INSERT", [0])[0] + counts.get("Heap/INSERT+INIT", [0])[0]
    return (f"{records / requests:.1f} records ({index_entries / requests:.1f} index entries, {rows / requests:.1f} "
            f"rows inserted), {record_bytes / requests / 1024:.1f} KiB without full-page images, "
            f"{image_bytes / requests / 1024:.1f} KiB of them")


def _callgrind(state: str, active: bool) -> None:
    """Under `valgrind --tool=callgrind --instr-atstart=no` (--callgrind), instructions are counted only while the
    timed requests run: a count that, unlike CPU time on a shared machine, is the same run after run."""
    if active:
        subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True, capture_output=True)


def _by_package(profiler: cProfile.Profile) -> list[tuple[str, float]]:
    """Own (not cumulative) time summed by where the code lives: the project's apps, Django, DRF,
    psycopg (of which `wait` is the round trips to PostgreSQL), the standard library."""
    totals: dict[str, float] = {}
    for (filename, _line, function), row in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        own = row[2]
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
            if package == "psycopg" and function == "wait":
                package = "psycopg (waiting for PostgreSQL)"
        elif filename.startswith(str(ROOT)):
            package = "project: " + filename[len(str(ROOT)) + 1:].split("/")[0]
        else:
            package = "python stdlib / builtins"
        totals[package] = totals.get(package, 0.0) + own
    return sorted(totals.items(), key=lambda item: -item[1])[:14]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--wallets", type=int, default=20)
    parser.add_argument("--door", choices=("both", "rest", "mcp", "readyz"), default="both",
                        help="readyz: GET /readyz, the floor every request pays (one SELECT 1 and a cache ping)")
    parser.add_argument("--no-cprofile", action="store_true",
                        help="only time the requests (the profiled run doubles the time taken)")
    parser.add_argument("--callgrind", action="store_true",
                        help="running under valgrind --tool=callgrind --instr-atstart=no: count the timed requests' "
                             "instructions (implies --no-cprofile)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--phases", action="store_true",
                        help="print the median time before, in, between and after a request's statements")
    parser.add_argument("--dump", default="", help="write each profile to DUMP-rest.prof / DUMP-mcp.prof")
    args = parser.parse_args()
    setup_django()
    ensure_database("profile_request.py")
    from django.conf import settings
    from rest_framework.test import APIClient

    settings.ALLOWED_HOSTS = ["*"]
    raw_key, wallets, customer_id = _setup(args.wallets)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    run = time.time_ns()

    def transfer(i: int) -> None:
        body = {"from_wallet_id": wallets[i % len(wallets)], "to_wallet_id": wallets[(i + 1) % len(wallets)],
                "amount": "0.01", "currency": "USD"}
        response = client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=f"t-{run}-{i}")
        assert response.status_code == 201, response.content

    headers = {"HTTP_ACCEPT": "application/json, text/event-stream", "HTTP_MCP_PROTOCOL_VERSION": "2025-06-18"}

    def create_payment(i: int) -> None:
        arguments = {"amount": "10.00", "currency": "USD", "customer_id": customer_id, "payment_method": "tok_visa",
                     "idempotency_key": f"p-{run}-{i}"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "create_payment", "arguments": arguments}}
        response = client.post("/mcp/", body, format="json", **headers)
        assert response.status_code == 200 and '"isError": true' not in response.content.decode(), response.content

    def readyz(i: int) -> None:
        assert client.get("/readyz").status_code == 200

    doors = {"readyz": [("GET /readyz", readyz)], "rest": [("REST POST /api/v1/transfers", transfer)],
             "mcp": [("MCP tools/call create_payment", create_payment)]}
    doors["both"] = doors["rest"] + doors["mcp"]
    for label, send in doors[args.door]:
        _profile(label, send, requests=args.requests, cprofile=not (args.no_cprofile or args.callgrind),
                 dump=args.dump, show_sql=args.show_sql, callgrind=args.callgrind, phases=args.phases)


if __name__ == "__main__":
    main()
