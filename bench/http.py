"""Open-loop HTTP load against the doors: latency from each request's planned send time.

The script seeds a scratch PostgreSQL database through the project's services (an admin's `*`
API keys, N funded USD wallets, one paying customer), starts the server itself with the
production settings (`bench/http_settings.py`: production plus one sandbox provider without
simulated latency) on a free port, and offers each rate for a fixed time: request i is planned
at start + i/rate and its latency counts from that planned time, so a server that falls behind
shows its queue in the percentiles instead of slowing the client down (no coordinated
omission). The client is raw asyncio HTTP/1.1 over a pool of keep-alive connections in this
process; the server runs in its own processes. The client's own lateness (scheduler lag) and
its CPU share are reported, so a saturated client is visible.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_http_bench \\
        .venv/bin/python bench/http.py --server granian --scenario transfers \\
        --scenario mcp-create-payment --rates 50,100,200,400 --seconds 10

`readyz` (GET /readyz: one `SELECT 1` and a cache ping) runs first at the same rates as the
baseline of the doors themselves. After the runs the ledger is verified and the rows written are
counted against the successful responses: a fast but wrong run fails (exit status 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py: its folder must come after the standard library's `http` package,
# which Django imports, and only `scratchdb` is needed from it.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.append(str(_BENCH))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

ROOT = _BENCH.parent
START_BALANCE = 10**12  # minor units: no bench transfer is refused for funds
SCENARIOS = ("readyz", "transfers", "transfers-one-wallet", "withdrawals", "payments", "mcp-create-payment")
SERVERS = {
    # `make serve` (config/serve.py): granian's Rust HTTP front, the WSGI app on blocking threads.
    "granian": {"workers": 2, "threads": 2},
    # The comparison: gunicorn's gthread workers...
    "gunicorn-threads": {"workers": 2, "threads": 4},
    # ... and one request per process (gunicorn's sync worker when --threads 1).
    "gunicorn-procs": {"workers": 4, "threads": 1},
}
MCP_PROTOCOL = "2025-11-25"


def _bench_env() -> dict[str, str]:
    """The production settings' required environment, generated once per run and shared by the
    seeding process and the server (API keys are hashed with API_KEY_HMAC_SECRET)."""
    return {
        "DJANGO_SETTINGS_MODULE": "bench.http_settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(60),
        "API_KEY_HMAC_SECRET": os.environ.get("API_KEY_HMAC_SECRET") or secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or base64.b64encode(
            secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "False",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }


# --- Seeding through the services ----------------------------------------------------------

def _seed(wallet_count: int, key_count: int) -> dict:
    from django.contrib.auth import get_user_model
    from scratchdb import funded_wallets

    from accounts.models import Customer
    from accounts.services import api_key_create, customer_create, staff_user_create
    from core.context import Actor

    actor = Actor.system("bench")
    user = get_user_model().objects.filter(username="http-bench-admin").first()
    if user is None:
        user = staff_user_create(actor=actor, username="http-bench-admin", password=secrets.token_urlsafe(24),
                                 role="admin", with_totp=False).user
    # Several keys, used in turn: one key at 400/s would be throttled (API_RATE_LIMIT, 6000/min by
    # default), as one merchant's key would be in production.
    keys = [api_key_create(actor=actor, owner=user, name=f"http bench {i}", scopes="*").raw_key
            for i in range(key_count)]
    wallets = [wallet for wallet, _ in funded_wallets(wallet_count, domain="httpbench.example", balance=START_BALANCE)]
    payer = Customer.objects.filter(email="payer@httpbench.example").first()
    if payer is None:
        payer = customer_create(actor=actor, email="payer@httpbench.example", name="HTTP bench payer", country="US")
    return {"keys": keys, "wallets": wallets, "payer": payer.pk}


def _counts() -> dict[str, int]:
    from payments.models import Payment
    from wallets.models import JournalEntry

    return {"transfer_entries": JournalEntry.objects.filter(kind="transfer").count(),
            "withdrawal_entries": JournalEntry.objects.filter(kind="withdrawal").count(),
            "payments_succeeded": Payment.objects.filter(status="succeeded").count(),
            "payments": Payment.objects.count()}


# --- The server ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(server: str, port: int, workers: int, threads: int, log_writer: bool = True) -> list[str]:
    if server == "granian":
        return [sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--threads", str(threads),
                *([] if log_writer else ["--no-request-log-writer"])]
    # The comparison: gunicorn with its own access log on stdout, as `make serve` ran it until granian won.
    return [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "-b", f"127.0.0.1:{port}",
            "-w", str(workers), "--threads", str(threads), "--access-logfile", "-"]


def _server_env(server: str) -> dict[str, str]:
    env = dict(os.environ)
    if server != "granian":
        # What config.serve does for granian's workers: one prometheus-client directory for all of them.
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-http-prometheus-")
    return env


class Server:
    def __init__(self, command: list[str], env: dict[str, str], port: int):
        self.command, self.env, self.port = command, env, port
        self.log = tempfile.NamedTemporaryFile(prefix="bench-http-server-", suffix=".log", delete=False)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        # Its own session, so stopping it stops its workers and nothing else.
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status, _ = asyncio.run(_one_get(self.port, "/readyz"))
                if status == 200:
                    return
            except (OSError, asyncio.IncompleteReadError):
                pass  # not listening or not ready yet: ask again
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"server not ready after {timeout}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


class CpuMeter:
    """CPU spent by the server (its process group) and by the PostgreSQL backends of the bench database.

    Backends are found in pg_stat_activity at the start and the end of a step: with persistent
    connections (CONN_MAX_AGE > 0) that is all of them; with a connection per request most are
    gone by then, so the database's share is not reported."""

    def __init__(self, server_pid: int, dbname: str, conninfo: dict, persistent: bool):
        self.server_pid, self.dbname, self.conninfo, self.persistent = server_pid, dbname, conninfo, persistent

    def _server_cpu(self) -> float:
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.server_pid:  # process group = the server's own session
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def _backends(self) -> dict[int, float]:
        import psycopg
        from scratchdb import process_cpu

        with psycopg.connect(**self.conninfo, autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                                (self.dbname,)).fetchall()
        return {pid: process_cpu(pid) for (pid,) in rows}

    def snapshot(self) -> tuple[float, dict[int, float]]:
        return self._server_cpu(), self._backends()

    def per_request(self, before, requests: int) -> dict:
        """Milliseconds of CPU per request since `before`: the server's, and PostgreSQL's."""
        after = self.snapshot()
        if not requests:
            return {"app_cpu_ms": None, "db_cpu_ms": None}
        app = (after[0] - before[0]) * 1000 / requests
        db = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items()) * 1000 / requests
        return {"app_cpu_ms": round(app, 2), "db_cpu_ms": round(db, 2) if self.persistent else None}


# --- The client: raw HTTP/1.1 over keep-alive connections -----------------------------------

class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.last_used = time.monotonic()
        self.reusable = True

    def close(self) -> None:
        self.writer.close()


async def _read_response(conn: Connection) -> tuple[int, bytes]:
    head = await conn.reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await conn.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunks.append(await conn.reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(c[:-2] for c in chunks)
    elif "content-length" in headers:
        body = await conn.reader.readexactly(int(headers["content-length"]))
    else:
        body = await conn.reader.read()
        conn.reusable = False
    if headers.get("connection", "").lower() == "close" or lines[0].startswith("HTTP/1.0"):
        conn.reusable = False
    return status, body


class Pool:
    """At most `size` connections; an idle one is dropped before the server's keep-alive timeout
    (gunicorn closes idle connections after 2 s) could race a request on it."""

    MAX_IDLE = 1.5

    def __init__(self, port: int, size: int):
        self.port, self.size = port, size
        self.idle: list[Connection] = []
        self.open = 0
        self.waiters: asyncio.Queue[Connection | None] = asyncio.Queue()
        self.waiting = 0

    async def acquire(self) -> Connection:
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if now - conn.last_used < self.MAX_IDLE:
                return conn
            conn.close()
            self.open -= 1
        if self.open < self.size:
            self.open += 1
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except BaseException:
                self.open -= 1
                raise
            writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return Connection(reader, writer)
        self.waiting += 1
        try:
            got = await self.waiters.get()
        finally:
            self.waiting -= 1
        if got is None:  # a connection was discarded: this waiter may open a new one
            return await self.acquire()
        return got

    def release(self, conn: Connection, ok: bool) -> None:
        conn.last_used = time.monotonic()
        if not (ok and conn.reusable):
            conn.close()
            self.open -= 1
            if self.waiting:
                self.waiters.put_nowait(None)
            return
        if self.waiting:
            self.waiters.put_nowait(conn)
        else:
            self.idle.append(conn)

    def close_all(self) -> None:
        for conn in self.idle:
            conn.close()
        self.open -= len(self.idle)
        self.idle.clear()


async def _one_get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Forwarded-Proto: https\r\n"
                     f"Connection: close\r\n\r\n".encode())
        return await asyncio.wait_for(_read_response(Connection(reader, writer)), 5)
    finally:
        writer.close()


# --- Scenarios: each builds request i and judges its answer ---------------------------------

@dataclass
class Scenario:
    name: str
    port: int
    seed: dict
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    key_turn: int = 0

    def _key(self) -> str:
        self.key_turn += 1
        return self.seed["keys"][self.key_turn % len(self.seed["keys"])]

    def _post(self, path: str, body: dict, headers: dict[str, str]) -> bytes:
        raw = json.dumps(body).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nX-Forwarded-Proto: https\r\n"
                f"Authorization: Bearer {self._key()}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(raw)}\r\n{head}\r\n").encode() + raw

    def request(self) -> bytes:
        wallets = self.seed["wallets"]
        # Not uuid4().hex: a run of 13+ hex digits that are all decimal and pass Luhn is a card number
        # to core.cards.contains_pan, and such a key is refused (raw_card_data_not_allowed, ~0.3%).
        key = "hb_" + secrets.token_urlsafe(18)
        if self.name == "readyz":
            return f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nX-Forwarded-Proto: https\r\n\r\n".encode()
        if self.name in ("transfers", "transfers-one-wallet"):
            if self.name == "transfers":
                source, target = self.rng.sample(wallets, 2)
            else:
                source, target = self.rng.choice(wallets[1:]), wallets[0]
            return self._post("/api/v1/transfers", {"from_wallet_id": source, "to_wallet_id": target,
                                                    "amount": "0.01", "currency": "USD"}, {"Idempotency-Key": key})
        if self.name == "withdrawals":
            # Out of wallets spread over the seed, all into the one sandbox clearing account (USD): a row every
            # withdrawal (and every card capture) changes.
            return self._post(f"/api/v1/wallets/{self.rng.choice(wallets)}/withdrawals", {"amount": "0.01"},
                              {"Idempotency-Key": key})
        payment = {"amount": "1.00", "currency": "USD", "customer_id": self.seed["payer"],
                   "payment_method": "tok_visa"}
        if self.name == "payments":
            return self._post("/api/v1/payments", payment, {"Idempotency-Key": key})
        if self.name == "mcp-create-payment":
            body = {"jsonrpc": "2.0", "id": key, "method": "tools/call",
                    "params": {"name": "create_payment", "arguments": {**payment, "idempotency_key": key}}}
            return self._post("/mcp/", body, {"Accept": "application/json, text/event-stream",
                                              "MCP-Protocol-Version": MCP_PROTOCOL})
        raise ValueError(self.name)

    def error(self, status: int, body: bytes) -> str | None:
        """None for a success; else a short label. A 2xx that did not do the thing is an error too."""
        if not 200 <= status < 300:
            try:
                code = json.loads(body).get("error", {}).get("code", "")
            except (ValueError, AttributeError):
                code = ""
            return f"{status} {code}".strip()
        if self.name in ("payments", "mcp-create-payment"):
            try:
                data = json.loads(body)
            except ValueError:
                return f"{status} not JSON"
            if self.name == "mcp-create-payment":
                result = data.get("result") or {}
                if "error" in data or result.get("isError"):
                    err = data.get("error") or result.get("structuredContent", {}).get("error", {})
                    return f"mcp {err.get('code', '?')}"
                data = result.get("structuredContent", {})
            if data.get("status") != "succeeded":
                return f"payment {data.get('status')}"
        return None


# --- One offered rate ------------------------------------------------------------------------

def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def _run_rate(scenario: Scenario, port: int, rate: float, seconds: float, connections: int,
                    timeout: float, meter: CpuMeter | None = None) -> dict:
    pool = Pool(port, connections)
    n = max(1, int(rate * seconds))
    latencies: list[float] = []
    sched_lag: list[float] = []
    send_lag: list[float] = []
    errors: Counter[str] = Counter()
    finished: list[float] = []

    async def one(planned: float, payload: bytes) -> None:
        conn = None
        ok = False
        try:
            conn = await pool.acquire()
            send_lag.append(time.perf_counter() - planned)
            conn.writer.write(payload)
            status, body = await _read_response(conn)
            ok = True
            label = scenario.error(status, body)
            if label:
                errors[label] += 1
            else:
                latencies.append(time.perf_counter() - planned)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            errors[f"conn {type(exc).__name__}"] += 1
        except asyncio.CancelledError:
            errors["timeout"] += 1
        finally:
            finished.append(time.perf_counter())
            if conn is not None:
                pool.release(conn, ok)

    server_cpu0 = meter.snapshot() if meter else None
    cpu0 = time.process_time()
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(n):
        planned = start + i / rate
        payload = scenario.request()
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sched_lag.append(time.perf_counter() - planned)
        tasks.append(asyncio.create_task(one(planned, payload)))
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    end = max(finished) if finished else time.perf_counter()
    cpu = time.process_time() - cpu0
    pool.close_all()
    # Per answered request: at overload the unanswered ones cost the server nothing.
    server_cpu = meter.per_request(server_cpu0, n - errors["timeout"]) if meter else {}
    ms = [x * 1000 for x in latencies]
    return {
        "offered": rate, "requests": n, "ok": len(latencies), "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(5)),
        "achieved": round(len(latencies) / (end - start), 1),
        "p50_ms": _round(_pct(ms, 0.50)), "p95_ms": _round(_pct(ms, 0.95)), "p99_ms": _round(_pct(ms, 0.99)),
        "max_ms": _round(max(ms) if ms else None),
        "sched_lag_p99_ms": _round(_pct([x * 1000 for x in sched_lag], 0.99)),
        "send_lag_p50_ms": _round(_pct([x * 1000 for x in send_lag], 0.50)),
        "send_lag_p99_ms": _round(_pct([x * 1000 for x in send_lag], 0.99)),
        "client_cpu": round(cpu / (end - start + 0.05), 2),
        **server_cpu,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


async def _settle(port: int, limit: float = 60.0) -> None:
    """Waits until the server answers /readyz quickly again: the last overloaded step's queue must
    not be the next step's."""
    deadline = time.time() + limit
    while time.time() < deadline:
        t = time.perf_counter()
        try:
            status, _ = await _one_get(port, "/readyz")
            if status == 200 and time.perf_counter() - t < 0.05:
                return
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        await asyncio.sleep(0.5)


async def _run_all(args, port: int, seed: dict, meter: CpuMeter) -> tuple[dict, dict]:
    results: dict[str, list[dict]] = {}
    warmups: dict[str, dict] = {}
    for name in args.scenarios:
        scenario = Scenario(name, port, seed)
        # Warm-up: every worker imports and connects before the first measured step.
        warmups[name] = await _run_rate(scenario, port, min(args.rates), args.warmup, args.connections,
                                        args.timeout)
        await _settle(port)
        results[name] = []
        for rate in args.rates:
            results[name].append(await _run_rate(scenario, port, rate, args.seconds, args.connections,
                                                 args.timeout, meter))
            await _settle(port)
    return results, warmups


# --- Main --------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=sorted(SERVERS), default="granian")
    parser.add_argument("--workers", type=int, help="server processes (default by --server)")
    parser.add_argument("--threads", type=int, help="threads per process (default by --server)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, dest="scenarios",
                        help="repeatable; readyz (the baseline) always runs first")
    parser.add_argument("--rates", default="50,100,200,400", help="offered requests per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per offered rate")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds at the lowest rate before each scenario")
    parser.add_argument("--connections", type=int, default=64, help="client connection pool size")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds after a step's last planned send before the unanswered count as timeouts")
    parser.add_argument("--wallets", type=int, default=200)
    parser.add_argument("--keys", type=int, default=20, help="API keys used in turn")
    parser.add_argument("--conn-max-age", type=int, help="CONN_MAX_AGE for the server (production default 60)")
    parser.add_argument("--db-options", default="",
                        help='JSON merged into the database OPTIONS, e.g. \'{"prepare_threshold": 5, '
                             '"server_side_binding": true}\'')
    parser.add_argument("--no-request-log-writer", action="store_true",
                        help="granian: each worker writes its own request log rows, as before the writer process")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE ('-': stdout only)")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",")]
    args.scenarios = ["readyz"] + [s for s in dict.fromkeys(args.scenarios or ["transfers"]) if s != "readyz"]
    shape = SERVERS[args.server]
    workers, threads = args.workers or shape["workers"], args.threads or shape["threads"]

    env = _bench_env()
    os.environ.update(env)
    if args.conn_max_age is not None:
        os.environ["CONN_MAX_AGE"] = str(args.conn_max_age)
    if args.db_options:
        json.loads(args.db_options)
        os.environ["BENCH_DB_OPTIONS"] = args.db_options
    from scratchdb import conninfo, ensure_database, setup_django

    setup_django()
    ensure_database("bench/http.py")
    seed = _seed(args.wallets, args.keys)
    before = _counts()
    from django.conf import settings
    from django.db import connection, connections

    pg_version = connection.cursor().connection.info.server_version
    connections.close_all()

    port = _free_port()
    command = _server_command(args.server, port, workers, threads, log_writer=not args.no_request_log_writer)
    server = Server(command, _server_env(args.server), port)
    load0 = os.getloadavg()
    server.start()
    try:
        meter = CpuMeter(server.proc.pid, settings.DATABASES["default"]["NAME"], conninfo(),
                         persistent=settings.DATABASES["default"].get("CONN_MAX_AGE", 0) != 0)
        results, warmups = asyncio.run(_run_all(args, port, seed, meter))
    finally:
        server.stop()
    load1 = os.getloadavg()

    after = _counts()
    from wallets.selectors.verify import ledger_verify

    report = ledger_verify()
    ok = {name: sum(r["ok"] for r in [*runs, warmups[name]]) for name, runs in results.items()}
    # A request that timed out on the client may still have been done by the server.
    maybe = {name: sum(r["errors"] for r in [*runs, warmups[name]]) for name, runs in results.items()}
    entries = after["transfer_entries"] - before["transfer_entries"]
    withdrawn = after["withdrawal_entries"] - before["withdrawal_entries"]
    paid = after["payments_succeeded"] - before["payments_succeeded"]
    ok_transfers = ok.get("transfers", 0) + ok.get("transfers-one-wallet", 0)
    ok_payments = ok.get("payments", 0) + ok.get("mcp-create-payment", 0)
    slack_t = maybe.get("transfers", 0) + maybe.get("transfers-one-wallet", 0)
    slack_p = maybe.get("payments", 0) + maybe.get("mcp-create-payment", 0)
    ok_withdrawals, slack_w = ok.get("withdrawals", 0), maybe.get("withdrawals", 0)
    check = {"ledger_ok": report.ok, "transfer_entries": entries, "transfers_ok": ok_transfers,
             "withdrawal_entries": withdrawn, "withdrawals_ok": ok_withdrawals,
             "payments_succeeded": paid, "payments_ok": ok_payments,
             "counts_match": ok_transfers <= entries <= ok_transfers + slack_t and ok_payments <= paid <= ok_payments
             + slack_p and ok_withdrawals <= withdrawn <= ok_withdrawals + slack_w}
    meta = {"server": args.server, "command": " ".join(command).replace(sys.executable, "python")
            .replace(f"{Path(sys.executable).parent}/", ""),
            "workers": workers, "threads": threads, "seconds": args.seconds, "connections": args.connections,
            "conn_max_age": os.environ.get("CONN_MAX_AGE", "60 (default)"),
            "db_options": args.db_options or None, "redis": bool(os.environ.get("REDIS_URL")),
            "cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load0],
            "loadavg_after": [round(x, 2) for x in load1], "postgres": pg_version,
            "python": sys.version.split()[0]}
    out = {"meta": meta, "results": results, "check": check}
    _print(out, sys.stderr if args.json == "-" else sys.stdout)
    for problem in report.problems[:20]:
        print("LEDGER PROBLEM:", problem)
    if args.json and args.json != "-":
        Path(args.json).write_text(json.dumps(out, indent=1))
    elif args.json == "-":
        print(json.dumps(out))
    passed = report.ok and check["counts_match"]
    if not passed:
        print("CHECK FAILED: the ledger or the row counts do not match the successful responses", file=sys.stderr)
        print(server.tail(), file=sys.stderr)
    else:
        os.unlink(server.log.name)
    return 0 if passed else 1


def _print(out: dict, stream) -> None:
    from scratchdb import ms_cell as _ms

    meta, results = out["meta"], out["results"]
    print(f"# {meta['command']}  (conn_max_age {meta['conn_max_age']}, db options {meta['db_options']}, "
          f"redis {meta['redis']}, load {meta['loadavg_before']} -> {meta['loadavg_after']})", file=stream)
    baseline = {r["offered"]: r for r in results.get("readyz", [])}
    header = (f"{'scenario':<20} {'offered':>7} {'achieved':>8} {'p50':>7} {'p95':>7} {'p99':>8} {'errors':>6} "
              f"{'readyz p50/p99':>15} {'lag p99':>7} {'cli cpu':>7} {'app cpu':>7} {'pg cpu':>7}  error kinds")
    print(header, file=stream)
    for name, runs in results.items():
        for r in runs:
            b = baseline.get(r["offered"], {})
            print(f"{name:<20} {r['offered']:>7.0f} {r['achieved']:>8.1f} {_ms(r['p50_ms'])} {_ms(r['p95_ms'])} "
                  f"{_ms(r['p99_ms'], 8)} {r['errors']:>6} {_ms(b.get('p50_ms'))}/{_ms(b.get('p99_ms'), 7)} "
                  f"{_ms(r['sched_lag_p99_ms'])} {r['client_cpu']:>7.2f} {_ms(r.get('app_cpu_ms'))} "
                  f"{_ms(r.get('db_cpu_ms'))}  {r['error_kinds'] or ''}", file=stream)
    print("(milliseconds; latency from the planned send time; lag: the client's own lateness; cli cpu: the "
          "client's share of one core; app/pg cpu: CPU ms per request of the server and of PostgreSQL)", file=stream)
    print(f"check: {out['check']}", file=stream)


if __name__ == "__main__":
    raise SystemExit(main())
