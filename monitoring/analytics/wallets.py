"""Wallet analytics: balances by currency now, money in and out of customer wallets by day, the largest
movements of a period and the frozen wallets. Amounts are minor units beside their `currency`.

A flow is a posting on a customer wallet's ledger account: positive postings are money in (top-ups,
transfers received, conversions in), negative ones money out (payments, withdrawals, transfers sent).
"""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.db.models.functions import Abs, TruncDate

from monitoring.dashboards.period import Period
from wallets.models import AccountType, Posting, Wallet

LARGEST_LIMIT = 50
FROZEN_LIMIT = 50


def _wallet_postings(period: Period):
    return Posting.objects.filter(period.within(), account__account_type=AccountType.CUSTOMER_WALLET)


def balances(period: Period) -> list[dict]:
    """Per currency, now: wallets, frozen wallets, the sum of their balances (the period's dates do not apply:
    a balance is a state, not a flow)."""
    wallets = Wallet.objects.all()
    if period.currency:
        wallets = wallets.filter(currency=period.currency)
    rows = (wallets.values("currency")
            .annotate(wallets=Count("id"), frozen=Count("id", filter=Q(status=Wallet.Status.FROZEN)),
                      balance=Sum("account__balance"))
            .order_by("currency"))
    return [{**row, "balance": row["balance"] or 0} for row in rows]


def flows_by_day(period: Period) -> list[dict]:
    """Per UTC day and currency of the period: money in (positive postings) and out (negative, shown positive)."""
    rows = (_wallet_postings(period)
            .annotate(day=TruncDate("created")).values("day", "currency")
            .annotate(inflow=Sum("amount", filter=Q(amount__gt=0)), outflow=Sum("amount", filter=Q(amount__lt=0)))
            .order_by("day", "currency"))
    return [{"day": r["day"].isoformat(), "currency": r["currency"], "inflow": r["inflow"] or 0,
             "outflow": -(r["outflow"] or 0)} for r in rows]


def flow_totals(period: Period) -> list[dict]:
    """Per currency: money in and out over the period and over the previous period of the same length (one
    query over both)."""
    current = Q(created__gte=period.since)
    rows = (_wallet_postings(period.with_previous())
            .values("currency")
            .annotate(inflow=Sum("amount", filter=current & Q(amount__gt=0)),
                      outflow=Sum("amount", filter=current & Q(amount__lt=0)),
                      previous_inflow=Sum("amount", filter=~current & Q(amount__gt=0)),
                      previous_outflow=Sum("amount", filter=~current & Q(amount__lt=0)))
            .order_by("currency"))
    return [{"currency": r["currency"], "inflow": r["inflow"] or 0, "outflow": -(r["outflow"] or 0),
             "previous_inflow": r["previous_inflow"] or 0, "previous_outflow": -(r["previous_outflow"] or 0)}
            for r in rows]


def largest_movements(period: Period, *, limit: int = LARGEST_LIMIT) -> list[dict]:
    """The biggest postings (by absolute amount) on customer wallets in the period, largest first; ties by the
    latest. Amount is signed: negative left the wallet."""
    rows = (_wallet_postings(period)
            .annotate(size=Abs("amount"))
            .order_by("-size", "-created", "-id")
            .values("id", "entry_id", "amount", "currency", "kind", "created", "account__wallet__id",
                    "account__owner")[:limit])
    return [{"entry_id": r["entry_id"], "wallet_id": r["account__wallet__id"], "customer_id": r["account__owner"],
             "kind": r["kind"], "amount": r["amount"], "currency": r["currency"], "created": r["created"]}
            for r in rows]


def frozen_wallets(period: Period, *, limit: int = FROZEN_LIMIT) -> list[dict]:
    """The frozen wallets now, latest first."""
    frozen = Wallet.objects.filter(status=Wallet.Status.FROZEN)
    if period.currency:
        frozen = frozen.filter(currency=period.currency)
    rows = (frozen.order_by("-created", "-id")
            .values("id", "customer_id", "currency", "account__balance", "status_reason", "updated")[:limit])
    return [{"wallet_id": r["id"], "customer_id": r["customer_id"], "currency": r["currency"],
             "balance": r["account__balance"], "reason": r["status_reason"], "updated": r["updated"]} for r in rows]
