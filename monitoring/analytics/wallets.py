"""Wallet analytics: balances by currency now, money in and out of customer wallets by day, the largest
movements of a period and the frozen wallets. Amounts are minor units beside their `currency`.

A flow is a posting on a customer wallet's ledger account: positive postings are money in (top-ups,
transfers received, conversions in), negative ones money out (payments, withdrawals, transfers sent).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import Abs, RowNumber, TruncDate

from core.money import exponent, round_half_up
from monitoring.dashboards.period import Period
from wallets import selectors as wallet_selectors
from wallets.models import AccountType, Posting, Wallet

LARGEST_LIMIT = 50
# The currency the largest movements of different currencies are compared in (at the stored exchange rates).
REFERENCE_CURRENCY = "EUR"
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
    """The biggest postings on customer wallets in the period, largest first across currencies.

    Postings of different currencies are compared by their value in REFERENCE_CURRENCY at the stored exchange
    rates in force now (`reference_amount`, minor units of that currency, rounded half up, signed as the
    posting is; ranked by its size; for reading only, never booked). Postings in a currency without a stored
    rate to REFERENCE_CURRENCY come after all converted ones, grouped by currency (alphabetical) and ranked
    within it by absolute amount, their `reference_amount` None. Ties by the latest. Amount is signed
    (negative left the wallet), in the posting's own currency. Two queries: the `limit` largest of each
    currency (a window), then the rates.
    """
    ranked = (_wallet_postings(period)
              .annotate(rank=Window(RowNumber(), partition_by=[F("currency")],
                                    order_by=[Abs("amount").desc(), F("created").desc(), F("id").desc()]))
              .filter(rank__lte=limit)
              .values("id", "entry_id", "amount", "currency", "kind", "created", "account__wallet__id",
                      "account__owner"))
    rows = list(ranked)
    rates = wallet_selectors.exchange_rates_to(quote=REFERENCE_CURRENCY, currencies={r["currency"] for r in rows})
    shift = exponent(REFERENCE_CURRENCY)
    movements = []
    for r in rows:
        rate = rates.get(r["currency"])
        value = (None if rate is None
                 else abs(r["amount"]) * rate * Decimal(10) ** (shift - exponent(r["currency"])))
        movements.append({"entry_id": r["entry_id"], "wallet_id": r["account__wallet__id"],
                          "customer_id": r["account__owner"], "kind": r["kind"], "amount": r["amount"],
                          "currency": r["currency"], "created": r["created"],
                          # Signed as the posting: 78 EUR that left the wallet reads -78.00 EUR, not 78.00.
                          "reference_amount": None if value is None
                          else round_half_up(value) * (-1 if r["amount"] < 0 else 1),
                          "reference_currency": REFERENCE_CURRENCY, "_value": value, "_id": r["id"]})
    movements.sort(key=_rank)
    return [{k: v for k, v in m.items() if not k.startswith("_")} for m in movements[:limit]]


def _rank(movement: dict) -> tuple:
    # Converted postings first, by value; the rest grouped by currency, by size; ties: the latest first.
    converted = movement["_value"] is not None
    size = movement["_value"] if converted else abs(movement["amount"])
    return (not converted, "" if converted else movement["currency"], -size,
            -movement["created"].timestamp(), -movement["_id"])


def frozen_wallets(period: Period, *, limit: int = FROZEN_LIMIT) -> list[dict]:
    """The frozen wallets now, latest first."""
    frozen = Wallet.objects.filter(status=Wallet.Status.FROZEN)
    if period.currency:
        frozen = frozen.filter(currency=period.currency)
    rows = (frozen.order_by("-created", "-id")
            .values("id", "customer_id", "currency", "account__balance", "status_reason", "updated")[:limit])
    return [{"wallet_id": r["id"], "customer_id": r["customer_id"], "currency": r["currency"],
             "balance": r["account__balance"], "reason": r["status_reason"], "updated": r["updated"]} for r in rows]
