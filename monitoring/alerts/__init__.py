"""Alerts: staff-editable rules evaluated every minute, alerts that rank, fold duplicates and resolve
themselves when the condition recovers (rules.py, services.py, selectors.py, notify.py).

Upper layers (webhooks) add what monitoring cannot import: `register_source(name, evaluate)` from their
AppConfig.ready(); `evaluate(now)` returns the `Finding`s firing now. A rule of kind `source` with
`params={"source": name}` evaluates it (its recipients, floor and override apply as for any rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One condition firing now. `subject` names it within its rule (a route, a provider, an endpoint id):
    the alert's dedup key is the rule's and the subject's. `abnormality` is how far past the threshold
    (1.0 = at it; a ratio, or |z| / z threshold); `volume` and `amounts` (minor units per currency) what is
    affected; `min_severity` the least it can be (a broken audit chain is critical whatever its volume);
    `measure` says the abnormality in words for the rank's reason."""

    subject: str
    title: str
    reason: str
    abnormality: float = 1.0
    measure: str = ""
    volume: int = 0
    volume_label: str = ""
    amounts: dict[str, int] = field(default_factory=dict)
    min_severity: str = "low"
    details: dict[str, Any] = field(default_factory=dict)


# A source's findings: Finding objects, or dicts of Finding's fields (an upper layer need not import this).
Evaluate = Callable[[dt.datetime], list[Any]]
_sources: dict[str, Evaluate] = {}


def register_source(name: str, evaluate: Evaluate) -> None:
    """Adds (or replaces) an alert source: `evaluate(now) -> list[Finding]`, called by rules of kind
    `source` naming it; each finding a `Finding` or a dict of its fields. Called from an upper layer's
    AppConfig.ready()."""
    _sources[name] = evaluate


def registered_sources() -> dict[str, Evaluate]:
    return dict(_sources)
