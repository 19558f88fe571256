"""Risk scoring before authorisation: score 0-99, level, decision (allow, review, block).

Until the fraud model lands, a transparent rule set serves it; `settings.PAYMENTS_RISK_SCORER`
(a dotted path to a callable taking a `RiskContext`) swaps the scorer without touching callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from core.money import to_decimal

RULES_VERSION = "rules-1"
REVIEW_AT = 65
BLOCK_AT = 75


@dataclass(frozen=True)
class RiskContext:
    customer_id: str
    customer_status: str
    amount: int
    currency: str
    method: str
    channel: str = ""
    device_id: str = ""
    ip_address: str | None = None
    merchant_reference: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    ip_country: str = ""
    card_country: str = ""
    at: datetime | None = None  # when the payment is made (default: now)
    payment_id: str = ""  # a stored payment being scored again: left out of its own history
    payment_method: str = ""  # the provider token: the card fingerprint of block lists


@dataclass(frozen=True)
class RiskResult:
    score: int
    level: str
    decision: str
    model_version: str
    reasons: list[str]
    explanation: list[dict] = field(default_factory=list)
    rules_fired: list[str] = field(default_factory=list)
    probability: float | None = None


def _level(score: int) -> str:
    if score >= BLOCK_AT:
        return "highest"
    if score >= REVIEW_AT:
        return "elevated"
    return "normal"


def rules_scorer(ctx: RiskContext) -> RiskResult:
    """Points per signal, capped at 99; each signal that fired is named in `reasons`."""
    score, reasons = 5, []
    if ctx.customer_status != "active":
        score, reasons = 99, ["customer_not_active"]
    else:
        major = to_decimal(ctx.amount, ctx.currency)
        # Rough thresholds in major units; currencies with big unit counts get a higher bar.
        big = 10_000 if ctx.currency not in ("JPY", "KRW", "VND", "IDR", "CLP", "UGX", "ISK") else 1_000_000
        if major >= big:
            score += 45
            reasons.append("amount_very_high")
        elif major >= big / 5:
            score += 20
            reasons.append("amount_high")
        if ctx.channel == "moto":
            score += 20
            reasons.append("channel_moto")
        if ctx.channel in ("web", "app") and not ctx.device_id:
            score += 10
            reasons.append("missing_device_id")
        if ctx.channel == "web" and not ctx.ip_address:
            score += 5
            reasons.append("missing_ip_address")
    score = min(score, 99)
    decision = "block" if score >= BLOCK_AT else "review" if score >= REVIEW_AT else "allow"
    return RiskResult(score, _level(score), decision, RULES_VERSION, reasons)


def score_payment(ctx: RiskContext) -> RiskResult:
    path = getattr(settings, "PAYMENTS_RISK_SCORER", "")
    scorer = import_string(path) if path else rules_scorer
    return scorer(ctx)
