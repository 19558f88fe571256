"""Severity from impact and abnormality, with the reason in words.

score (0-100) = abnormality (0-50) + volume (0-25) + amount (0-25):
  abnormality = 25 x (how many times past the threshold - 1), capped at 50 (2x the threshold: 25, 3x: 50);
  volume      = 25 x log10(1 + affected count) / 3, capped at 25 (1,000 affected: 25);
  amount      = 25 x log10(1 + largest affected amount in major units) / 5, capped at 25 (100,000: 25).
Severity: critical >= 75, high >= 50, medium >= 25, low below; never below the finding's own minimum (a broken
audit chain is critical) nor the rule's floor; a rule's override replaces it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.money import exponent, format_amount

from ..models.alerts import SEVERITY_ORDER, Severity
from . import Finding

BANDS = ((75, Severity.CRITICAL), (50, Severity.HIGH), (25, Severity.MEDIUM), (0, Severity.LOW))


@dataclass(frozen=True)
class Rank:
    severity: str
    score: int
    reason: str
    impact: dict[str, Any]


def higher(a: str, b: str) -> str:
    return a if SEVERITY_ORDER.index(a) >= SEVERITY_ORDER.index(b) else b


def band(score: int) -> str:
    return next(str(severity) for low, severity in BANDS if score >= low)


def _major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def impact_of(finding: Finding) -> dict[str, Any]:
    return {"volume": finding.volume, "volume_label": finding.volume_label,
            "amounts": {cur: format_amount(minor, cur) for cur, minor in sorted(finding.amounts.items())}}


def rank(finding: Finding, *, floor: str = Severity.LOW, override: str = "") -> Rank:
    abnormality = min(50, round(25 * max(0.0, finding.abnormality - 1)))
    volume = min(25, round(25 * math.log10(1 + max(0, finding.volume)) / 3))
    largest = max(finding.amounts.items(), key=lambda item: _major(item[1], item[0]), default=None)
    amount = min(25, round(25 * math.log10(1 + float(_major(largest[1], largest[0]))) / 5)) if largest else 0
    score = abnormality + volume + amount
    parts = [f"abnormality {abnormality}" + (f" ({finding.measure})" if finding.measure else "")]
    parts.append(f"volume {volume} ({finding.volume} {finding.volume_label or 'affected'})")
    amounts = ", ".join(f"{format_amount(minor, cur)} {cur}" for cur, minor in sorted(finding.amounts.items()))
    parts.append(f"amount {amount} ({amounts or 'no amount'} affected)")
    computed = band(score)
    reason = f"score {score}/100 = " + " + ".join(parts) + f"; {score} is {computed} (>=75 critical, >=50 high, " \
             ">=25 medium)"
    severity = computed
    if SEVERITY_ORDER.index(finding.min_severity) > SEVERITY_ORDER.index(severity):
        severity = finding.min_severity
        reason += f"; raised to {severity}: this condition is never less"
    if SEVERITY_ORDER.index(floor) > SEVERITY_ORDER.index(severity):
        severity = floor
        reason += f"; raised to the rule's floor {floor}"
    if override:
        severity = override
        reason += f"; set to {override} by the rule's override"
    return Rank(severity=str(severity), score=score, reason=reason + ".", impact=impact_of(finding))
