"""A wallet's history, read from its postings (the ledger is the only source of truth)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.pagination import Page, paginate

from ..models import Posting
from . import counterparty_labels, wallet_get


def wallet_transaction_history(*, wallet_id: str, start_date: dt.datetime | None = None,
                               end_date: dt.datetime | None = None, kind: str | None = None,
                               limit: int | None = None, cursor: str | None = None) -> Page:
    """Newest first, cursor-paginated; `start_date` inclusive, `end_date` exclusive."""
    wallet = wallet_get(wallet_id=wallet_id)
    qs = Posting.objects.filter(account_id=wallet.account_id).select_related("entry")
    if start_date:
        qs = qs.filter(created__gte=start_date)
    if end_date:
        qs = qs.filter(created__lt=end_date)
    if kind:
        qs = qs.filter(kind=kind)
    page = paginate(qs, limit=limit, cursor=cursor)
    others = counterparty_labels([p.entry_id for p in page.items], exclude_account=wallet.account_id,
                                 currency=wallet.currency)
    items: list[dict[str, Any]] = [{
        "id": p.entry_id, "object": "wallet_transaction", "wallet_id": wallet.pk, "kind": p.kind,
        "description": p.entry.description, "amount": p.amount, "currency": p.currency,
        "balance_after": p.balance_after, "counterparty": others.get(p.entry_id, ""),
        "reverses": p.entry.reverses_id, "created": p.created,
    } for p in page.items]
    return Page(items, page.has_more, page.next_cursor)
