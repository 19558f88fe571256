"""The payment context for agents (`ai_payment_context`), built from stored data only: every value comes
with its basis (how many observations it rests on), and what the product cannot know is `unknown`."""

from __future__ import annotations

import datetime as dt
import statistics

from django.db.models import Sum

from core import clock
from core.money import format_amount

from . import RiskContext, RiskResult
from .thresholds import review_and_block_at


def _recommendation(result: RiskResult) -> str:
    if result.decision in ("block", "review"):
        return result.decision
    if result.model_version.startswith("rules-"):
        return "approve_with_monitoring" if result.score >= 25 else "approve"
    return "approve_with_monitoring" if result.score >= review_and_block_at()[0] / 2 else "approve"


def transaction_intelligence(result: RiskResult, history: int) -> dict:
    by_model = not result.model_version.startswith("rules-")
    confidence = "low" if not by_model or history < 3 else "medium" if history < 10 else "high"
    return {
        "fraud_score": result.probability if result.probability is not None else round(result.score / 100, 4),
        "score": result.score, "level": result.level, "decision": result.decision,
        "model_version": result.model_version,
        "risk_factors": result.explanation or [{"feature": r, "text": r.replace("_", " ")} for r in result.reasons],
        "confidence": confidence,
        "recommendation": _recommendation(result),
        "basis": {"customer_payments_30d": history, "scored_by": "model" if by_model else "rules"},
    }


def user_behavior(customer, at: dt.datetime) -> dict:
    from payments.models import Payment

    rows = list(Payment.objects.filter(customer=customer, created__lt=at, created__gte=at - dt.timedelta(days=365))
                .values_list("amount", "currency", "created"))
    if not rows:
        return {"spending_pattern": None, "frequency_per_week": None, "amount_variance": None,
                "tenure_days": (at - customer.created).days, "basis": {"payments": 0}}
    currencies: dict[str, list[int]] = {}
    for amount, currency, _ in rows:
        currencies.setdefault(currency, []).append(amount)
    main, amounts = max(currencies.items(), key=lambda kv: len(kv[1]))
    first = min(r[2] for r in rows)
    weeks = max((at - first).days / 7, 1)
    return {
        "spending_pattern": {"currency": main, "mean": format_amount(round(statistics.fmean(amounts)), main),
                             "median": format_amount(round(statistics.median(amounts)), main),
                             "max": format_amount(max(amounts), main)},
        "frequency_per_week": round(len(rows) / weeks, 2),
        "amount_variance": {"currency": main, "stdev": format_amount(round(statistics.pstdev(amounts)), main)},
        "tenure_days": (at - customer.created).days,
        "basis": {"payments": len(rows), "in_main_currency": len(amounts), "since": clock.isoformat(first)},
    }


def system_intelligence(currency: str, method: str) -> dict:
    from payments import routing
    from payments.errors import NoProviderAvailable
    from payments.models import ProviderStat

    try:
        decision = routing.choose(currency=currency, method=method)
    except NoProviderAvailable:
        return {"provider": None, "success_probability": None, "latency_ms": None, "alternatives": [],
                "basis": {"reason": "no provider serves this currency and method"}}
    since = clock.now() - dt.timedelta(days=7)

    def stats(provider):
        agg = ProviderStat.objects.filter(provider=provider, currency=currency, bucket__gte=since).aggregate(
            attempts=Sum("attempts"), successes=Sum("successes"), latency=Sum("latency_ms_total"))
        attempts = agg["attempts"] or 0
        return {"provider": provider,
                "success_probability": round(agg["successes"] / attempts, 4) if attempts else None,
                "latency_ms": round(agg["latency"] / attempts) if attempts else None,
                "basis": {"attempts_7d": attempts}}

    chosen = stats(decision.provider)
    candidates = decision.reason.get("candidates") or [decision.provider]
    return {**chosen, "strategy": decision.reason.get("strategy"),
            "alternatives": [stats(p) for p in candidates if p != decision.provider]}


def compliance_status(customer) -> dict:
    return {"kyc_status": getattr(customer, "kyc_status", "unknown") or "unknown", "risk_level": "unknown",
            "flags": [], "basis": {"source": "customer record; screening not available yet"}}


def payment_context(ctx: RiskContext, result: RiskResult, customer, history: int) -> dict:
    at = ctx.at or clock.now()
    return {"payment_id": ctx.payment_id or None, "customer_id": customer.id,
            "amount": format_amount(ctx.amount, ctx.currency), "currency": ctx.currency,
            "transaction_intelligence": transaction_intelligence(result, history),
            "user_behavior": user_behavior(customer, at),
            "system_intelligence": system_intelligence(ctx.currency, ctx.method),
            "compliance_status": compliance_status(customer)}
