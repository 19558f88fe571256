"""`/metrics` in the Prometheus text format (prometheus-client).

Request series (`http_*`, `mcp_*`, `errors_total`) are counted in each process by `monitoring.recorder`;
under the web server, with `PROMETHEUS_MULTIPROC_DIR` set (config/serve.py), every worker writes them to
that directory and a scrape of any worker reads them all (prometheus-client's multiprocess mode).
Business series are read from the database at most once a minute (Django's cache, shared by every process
with Redis) and system series from the OS at scrape time. Upper layers add business series with
`register_series` from their AppConfig.ready() (webhooks: `webhook_deliveries_total`): monitoring never
imports them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger("monitoring.prometheus")

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BUSINESS_CACHE_KEY = "monitoring:prometheus:business:v1"
BUSINESS_CACHE_SECONDS = 60

# Not registered anywhere at import: each scrape builds its registry (multiprocess or this process's).
HTTP_REQUESTS = Counter("http_requests", "REST requests by method, route pattern and status.",
                        ["method", "route", "status"], registry=None)
HTTP_DURATION = Histogram("http_request_duration_seconds", "REST request latency by method and route pattern.",
                          ["method", "route"], buckets=SECONDS_BUCKETS, registry=None)
ERRORS = Counter("errors", "Server errors: REST 5xx answers and MCP tool calls that failed unexpectedly.",
                 ["kind"], registry=None)
MCP_CALLS = Counter("mcp_tool_calls", "MCP tool calls by tool and outcome (ok, refused, error).",
                    ["tool", "outcome"], registry=None)
MCP_DURATION = Histogram("mcp_tool_duration_seconds", "MCP tool call latency by tool.", ["tool"],
                         buckets=SECONDS_BUCKETS, registry=None)
DB_RETRIES = Counter("db_transaction_retries", "Transactions run again by their owner, by reason: guard (a write "
                     "built from rows read without their locks found them changed), deadlock, serialization.",
                     ["reason"], registry=None)
LIVE = (HTTP_REQUESTS, HTTP_DURATION, ERRORS, MCP_CALLS, MCP_DURATION, DB_RETRIES)


def on_transaction_retried(sender: Any, reason: str, **kwargs: Any) -> None:
    """core.db.transaction_retried's receiver."""
    DB_RETRIES.labels(reason).inc()


def observe(kind: str, name: str, duration_ms: float, status: int) -> None:
    seconds = duration_ms / 1000
    if status >= 500:
        ERRORS.labels(kind).inc()
    if kind == "rest":
        method, _, route = name.partition(" ")
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        HTTP_DURATION.labels(method, route).observe(seconds)
    else:
        outcome = "error" if status >= 500 else ("refused" if status >= 400 else "ok")
        MCP_CALLS.labels(name, outcome).inc()
        MCP_DURATION.labels(name).observe(seconds)


# --- business series --------------------------------------------------------------------------------
Samples = list[tuple[dict[str, str], float]]


@dataclass(frozen=True)
class Series:
    name: str
    documentation: str
    type: str  # "counter" (never decreases) or "gauge"
    compute: Callable[[], Samples]


_series: dict[str, Series] = {}


def register_series(name: str, documentation: str, compute: Callable[[], Samples], *, type: str = "gauge") -> None:
    """A business series computed from the database (once a minute, cached): `compute()` returns
    [(labels, value)]. Called by this app and by upper layers' AppConfig.ready()."""
    if type not in ("counter", "gauge"):
        raise ValueError("type is counter or gauge")
    _series[name] = Series(name, documentation, type, compute)


def business_snapshot(*, refresh: bool = False) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every registered business series' samples, from the cache when computed in the last minute."""
    cached = None if refresh else cache.get(BUSINESS_CACHE_KEY)
    if cached is not None:
        return dict(cached)
    snapshot: dict[str, Samples] = {}
    for series in _series.values():
        try:
            snapshot[series.name] = series.compute()
        except Exception:  # noqa: BLE001
            logger.exception("could not compute a business series", extra={"series": series.name})
    cache.set(BUSINESS_CACHE_KEY, snapshot, BUSINESS_CACHE_SECONDS)
    return snapshot


class BusinessCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        snapshot = business_snapshot()
        for name in sorted(snapshot):
            series = _series.get(name)
            if series is None:
                continue
            labels = sorted({key for sample_labels, _ in snapshot[name] for key in sample_labels})
            family: Any
            if series.type == "counter":
                family = CounterMetricFamily(name.removesuffix("_total"), series.documentation, labels=labels)
            else:
                family = GaugeMetricFamily(name, series.documentation, labels=labels)
            for sample_labels, value in snapshot[name]:
                family.add_metric([sample_labels.get(key, "") for key in labels], value)
            yield family


# --- system series -----------------------------------------------------------------------------------
def _memory_used_ratio() -> float | None:
    try:
        with open("/proc/meminfo") as handle:
            fields = {line.split(":")[0]: int(line.split()[1]) for line in handle if line.count(":") == 1}
        return round(1 - fields["MemAvailable"] / fields["MemTotal"], 4)
    except (OSError, KeyError, ValueError, IndexError, ZeroDivisionError):
        return None


class SystemCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            cpu = round(os.getloadavg()[0] / (os.cpu_count() or 1), 4)
        except OSError:
            cpu = None
        if cpu is not None:
            yield GaugeMetricFamily("system_cpu_usage", "1-minute load average per CPU core (1.0: every core busy).",
                                    value=cpu)
        memory = _memory_used_ratio()
        if memory is not None:
            yield GaugeMetricFamily("system_memory_usage", "Share of the host's memory in use (0-1, "
                                    "MemTotal - MemAvailable).", value=memory)


def exposition() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in LIVE:
            registry.register(metric)
    registry.register(BusinessCollector())
    registry.register(SystemCollector())
    return generate_latest(registry)


def reset_live() -> None:
    """Clears this process's request series (tests)."""
    for metric in LIVE:
        metric.clear()


# --- this app's business series (registered from MonitoringConfig.ready()) -----------------------------
def _payments() -> Samples:
    from django.db.models import Count

    from payments.models import Payment

    rows = Payment.objects.values("status", "method", "currency").annotate(n=Count("id")).order_by(
        "status", "method", "currency")
    return [({"status": r["status"], "method": r["method"], "currency": r["currency"]}, float(r["n"])) for r in rows]


def _wallet_balances() -> Samples:
    from decimal import Decimal

    from django.db.models import Sum

    from core.money import exponent
    from wallets.models import Wallet

    rows = Wallet.objects.values("currency").annotate(total=Sum("account__balance")).order_by("currency")
    return [({"currency": r["currency"]}, float(Decimal(r["total"] or 0).scaleb(-exponent(r["currency"]))))
            for r in rows]


def _outbox_backlog() -> Samples:
    from core.models import OutboxMessage

    return [({}, float(OutboxMessage.objects.filter(sent_at__isnull=True).count()))]


def _celery_tasks() -> Samples:
    from django.db.models import Sum
    from django_celery_beat.models import PeriodicTask

    rows = PeriodicTask.objects.values("task").annotate(n=Sum("total_run_count")).order_by("task")
    return [({"task": r["task"]}, float(r["n"] or 0)) for r in rows]


def _billing_runs() -> Samples:
    from django.db.models import Count

    from subscriptions.models import BillingRun

    rows = BillingRun.objects.values("status").annotate(n=Count("id")).order_by("status")
    return [({"status": r["status"]}, float(r["n"])) for r in rows]


def register_builtin_series() -> None:
    register_series("payment_transactions_total", "Payments by current status, method and currency (a payment "
                    "moves between statuses: a gauge).", _payments)
    register_series("wallet_balance_total", "Sum of wallet balances by currency, in major units.", _wallet_balances)
    register_series("outbox_backlog", "Outbox messages not yet sent.", _outbox_backlog)
    register_series("celery_tasks_total", "Scheduled task runs sent by beat, by task (django-celery-beat's "
                    "total_run_count).", _celery_tasks, type="counter")
    register_series("billing_runs_total", "Billing runs by status.", _billing_runs)
