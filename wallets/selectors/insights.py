"""Spending insights from a wallet's postings: real figures only, and honest about thin history.

- totals and breakdowns (by entry kind, by counterparty) over the period;
- the change against the previous period of the same length;
- unusual outgoing transactions: |z| >= 3 against the wallet's own earlier outgoing amounts
  (population standard deviation of up to the last 500 before the period). With fewer than
  10 earlier outgoing transactions, or no spread among them, no z-score is computed and the
  answer says why instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Case, Count, F, Q, Sum, When

from core import clock

from ..models import Posting
from . import account_labels, require_period, wallet_get

DEFAULT_PERIOD = dt.timedelta(days=30)
MIN_HISTORY = 10
Z_THRESHOLD = 3.0
BASELINE_SIZE = 500
TOP_COUNTERPARTIES = 10

_IN = Sum(Case(When(amount__gt=0, then=F("amount")), default=0))
_OUT = Sum(Case(When(amount__lt=0, then=-F("amount")), default=0))


def _percent_change(current: int, previous: int) -> str | None:
    if previous == 0:
        return None
    change = (Decimal(current - previous) * 100 / Decimal(previous)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return str(change)


def _totals(account_id: int, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    row = Posting.objects.filter(account_id=account_id, created__gte=start, created__lt=end).aggregate(
        incoming=_IN, outgoing=_OUT, count=Count("id"))
    incoming, outgoing = row["incoming"] or 0, row["outgoing"] or 0
    return {"incoming": incoming, "outgoing": outgoing, "net": incoming - outgoing, "count": row["count"]}


def _unusual(account_id: int, currency: str, start: dt.datetime, end: dt.datetime) -> tuple[list, dict]:
    baseline = [-a for a in Posting.objects.filter(account_id=account_id, amount__lt=0, created__lt=start)
                .order_by("-created", "-id").values_list("amount", flat=True)[:BASELINE_SIZE]]
    # mean and stdev in minor units, unrounded (the doors round them once, to the currency's digits); `currency`
    # is theirs
    info: dict[str, Any] = {"baseline_count": len(baseline), "min_history": MIN_HISTORY, "threshold": Z_THRESHOLD,
                            "mean": None, "stdev": None, "currency": currency, "enough_history": False, "note": ""}
    if len(baseline) < MIN_HISTORY:
        info["note"] = (f"Too little history to judge unusual transactions: {len(baseline)} earlier outgoing "
                        f"transaction(s), at least {MIN_HISTORY} needed.")
        return [], info
    mean, stdev = statistics.fmean(baseline), statistics.pstdev(baseline)
    info.update(mean=mean, stdev=stdev)
    if stdev == 0:
        info["note"] = "Every earlier outgoing amount is the same, so there is no spread to measure against."
        return [], info
    info["enough_history"] = True
    flagged = []
    for p in (Posting.objects.filter(account_id=account_id, amount__lt=0, created__gte=start, created__lt=end)
              .select_related("entry").order_by("-created", "-id")):
        z = (-p.amount - mean) / stdev
        if abs(z) >= Z_THRESHOLD:
            flagged.append({"id": p.entry_id, "kind": p.kind, "description": p.entry.description,
                            "amount": -p.amount, "currency": currency, "z_score": round(z, 2),
                            "created": p.created})
    info["note"] = f"{len(flagged)} outgoing transaction(s) at |z| >= {Z_THRESHOLD} in the period."
    return flagged, info


def wallet_insights(*, wallet_id: str, start_date: dt.datetime | None = None,
                    end_date: dt.datetime | None = None) -> dict[str, Any]:
    wallet = wallet_get(wallet_id=wallet_id)
    end = end_date or clock.now()
    start = start_date or end - DEFAULT_PERIOD
    require_period(start, end)
    previous_start = start - (end - start)
    account_id, currency = wallet.account_id, wallet.currency
    current, previous = _totals(account_id, start, end), _totals(account_id, previous_start, start)

    in_period = Q(created__gte=start, created__lt=end)
    by_kind = [{**row, "currency": currency} for row in
               Posting.objects.filter(in_period, account_id=account_id).values("kind")
               .annotate(incoming=_IN, outgoing=_OUT, count=Count("id")).order_by("kind")]

    entries = Posting.objects.filter(in_period, account_id=account_id).values("entry_id")
    # The other side's sign is ours reversed: their debit is our income.
    other_rows = list(Posting.objects.filter(entry_id__in=entries, currency=currency)
                      .exclude(account_id=account_id).values("account_id")
                      .annotate(incoming=Sum(Case(When(amount__lt=0, then=-F("amount")), default=0)),
                                outgoing=Sum(Case(When(amount__gt=0, then=F("amount")), default=0)),
                                count=Count("entry_id", distinct=True)))
    labels = account_labels(r["account_id"] for r in other_rows)
    other_rows.sort(key=lambda r: (-(r["incoming"] + r["outgoing"]), labels[r["account_id"]]))
    by_counterparty = [{"counterparty": labels[r["account_id"]], "incoming": r["incoming"],
                        "outgoing": r["outgoing"], "count": r["count"], "currency": currency}
                       for r in other_rows[:TOP_COUNTERPARTIES]]

    unusual, anomaly_info = _unusual(account_id, currency, start, end)
    return {
        "object": "wallet_insights", "wallet_id": wallet.pk, "currency": currency,
        "period_start": start, "period_end": end, "previous_period_start": previous_start,
        "totals": {**current, "currency": currency}, "previous_totals": {**previous, "currency": currency},
        "change": {"incoming_percent": _percent_change(current["incoming"], previous["incoming"]),
                   "outgoing_percent": _percent_change(current["outgoing"], previous["outgoing"]),
                   "note": "" if previous["count"] else "No activity in the previous period to compare with."},
        "by_kind": by_kind, "by_counterparty": by_counterparty,
        "unusual": unusual, "anomaly_detection": anomaly_info,
    }
