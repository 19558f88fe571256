"""Routing: staff rules decide which providers may serve a payment; observed outcomes decide
which of them to try first (Thompson sampling over a rolling window, so a weaker provider
still gets some traffic and a recovering one is noticed).

Every decision returns its reason, stored on the attempt it led to.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Sum

from core import clock, heldrows, rawrows
from core.localcache import LocalCache

from . import providers
from .errors import NoProviderAvailable
from .models import ProviderStat, RoutingRule

# Module-level so a simulation can seed it (`routing.rng.seed(...)`) for a repeatable run.
rng = random.Random()


@dataclass(frozen=True)
class Decision:
    provider: str
    reason: dict[str, Any] = field(default_factory=dict)


def _window_hours() -> int:
    return int(getattr(settings, "PAYMENTS_ROUTING_WINDOW_HOURS", 24))


def _settings_cache_seconds() -> float:
    """How long a process keeps the routing rules it read (as fee schedules: see
    `postings.settings_cache_seconds`); a rule saved in this process applies to its next payment."""
    return float(getattr(settings, "PAYMENTS_SETTINGS_CACHE_SECONDS", 5))


def _stats_cache_seconds() -> float:
    """How long a process keeps the window statistics it read: routing learns over hours
    (PAYMENTS_ROUTING_WINDOW_HOURS), so outcomes of the last seconds change little."""
    return float(getattr(settings, "PAYMENTS_ROUTING_STATS_SECONDS", 10))


# The enabled rules in priority order; cleared by payments.signals when a rule is saved or deleted.
rules: LocalCache[list[RoutingRule]] = LocalCache("payments.routing_rules", seconds=_settings_cache_seconds)
# (providers, currency) -> their window statistics, read once per interval instead of per payment.
stats: LocalCache[dict[str, dict[str, float]]] = LocalCache("payments.routing_stats", seconds=_stats_cache_seconds)


def _enabled_rules() -> list[RoutingRule]:
    return rules.get("enabled", lambda: list(RoutingRule.objects.filter(enabled=True).order_by("priority", "id")))


def _matching_rule(*, currency: str, method: str) -> RoutingRule | None:
    for rule in _enabled_rules():
        if rule.currency and rule.currency.upper() != currency:
            continue
        if rule.method and rule.method != method:
            continue
        return rule
    return None


def eligible(*, currency: str, method: str) -> tuple[list[str], RoutingRule | None]:
    """Providers allowed for this currency and method, in the staff's priority order."""
    configured = providers.configured()
    rule = _matching_rule(currency=currency, method=method)
    names = list(rule.allowed_providers) if rule else list(configured)
    disabled = set(rule.disabled_providers if rule else []) | set(getattr(settings, "PAYMENTS_DISABLED_PROVIDERS", []))
    result = []
    for name in names:
        if name in disabled or name not in configured or name in result:
            continue
        if providers.get_provider(name).supports(method=method, currency=currency):
            result.append(name)
    return result, rule


def window_stats(*, names: list[str], currency: str) -> dict[str, dict[str, float]]:
    """Attempts, successes and average latency per provider over the window, as read at most
    `_stats_cache_seconds()` ago by this process (the caller must not change the dicts)."""
    return stats.get((tuple(names), currency), lambda: _read_window_stats(names=names, currency=currency))


def _read_window_stats(*, names: list[str], currency: str) -> dict[str, dict[str, float]]:
    since = clock.now() - dt.timedelta(hours=_window_hours())
    rows = (ProviderStat.objects.filter(provider__in=names, currency=currency, bucket__gte=since)
            .values("provider").annotate(n=Sum("attempts"), ok=Sum("successes"), lat=Sum("latency_ms_total")))
    stats = {name: {"attempts": 0, "successes": 0, "avg_latency_ms": 0.0} for name in names}
    for row in rows:
        n = row["n"] or 0
        stats[row["provider"]] = {"attempts": n, "successes": row["ok"] or 0,
                                  "avg_latency_ms": (row["lat"] or 0) / n if n else 0.0}
    return stats


def choose(*, currency: str, method: str, exclude: tuple[str, ...] = ()) -> Decision:
    names, rule = eligible(currency=currency, method=method)
    rule_info = {"rule_id": rule.pk, "rule": rule.name} if rule else {"rule_id": None, "rule": "default"}
    remaining = [n for n in names if n not in exclude]
    if not remaining:
        raise NoProviderAvailable(details={"currency": currency, "method": method, "tried": list(exclude)})
    if len(remaining) == 1 or (rule is not None and not rule.learning):
        why = "only_candidate" if len(remaining) == 1 else "priority"
        return Decision(remaining[0], {**rule_info, "strategy": why, "candidates": remaining,
                                       "failover_from": list(exclude)})
    stats = window_stats(names=remaining, currency=currency)
    penalty = float(getattr(settings, "PAYMENTS_ROUTING_LATENCY_PENALTY_PER_SECOND", 0.05))
    samples = {}
    for name in remaining:
        s = stats[name]
        draw = rng.betavariate(s["successes"] + 1, s["attempts"] - s["successes"] + 1)
        samples[name] = round(draw - penalty * s["avg_latency_ms"] / 1000, 6)
    chosen = max(remaining, key=lambda n: samples[n])
    return Decision(chosen, {**rule_info, "strategy": "thompson_sampling", "candidates": remaining,
                             "samples": samples, "stats": stats, "failover_from": list(exclude)})


def record_outcomes(counts: Mapping[tuple[str, str], Sequence[int]]) -> None:
    """Counts definite outcomes in each provider's current hour (inside the caller's transaction): `counts` maps
    (provider, currency) to (attempts, successes, latency_ms_total). One upsert for all of them, so a batch locks
    each hot row once; on PostgreSQL held to go with the enclosing `core.heldrows` block's last statement: every
    payment of a provider and currency updates the same row, which is then locked for that statement and the
    commit only, and taken after the payments and accounts the transaction locked before."""
    rows = sorted((key, tuple(value)) for key, value in counts.items() if value[0])
    if not rows:
        return
    bucket = ProviderStat._meta.get_field("bucket").get_db_prep_value(
        clock.now().replace(minute=0, second=0, microsecond=0), connection)
    # One upsert on the (provider, currency, bucket) unique constraint (PostgreSQL and SQLite alike): the row is
    # created by the hour's first outcome and incremented in place after, no read first. Each key once (the map's),
    # as ON CONFLICT DO UPDATE requires.
    qn = connection.ops.quote_name
    table = qn(ProviderStat._meta.db_table)
    sql = (f"INSERT INTO {table} (provider, currency, bucket, attempts, successes, latency_ms_total) "
           f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s)'] * len(rows))} ON CONFLICT (provider, currency, bucket) "
           f"DO UPDATE SET attempts = {table}.attempts + EXCLUDED.attempts, "
           f"successes = {table}.successes + EXCLUDED.successes, "
           f"latency_ms_total = {table}.latency_ms_total + EXCLUDED.latency_ms_total")
    params = [param for (provider, currency), (attempts, successes, latency) in rows
              for param in (provider, currency, bucket, attempts, successes, latency)]
    if connection.vendor == "postgresql":
        heldrows.execute_later(rawrows.Changes(((f"{sql} RETURNING 1", params),), rows=len(rows),
                                               tables=frozenset({ProviderStat._meta.db_table})))
        return
    with rawrows.cursor() as cursor:
        cursor.execute(sql, params)
