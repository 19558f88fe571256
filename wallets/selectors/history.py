"""A wallet's history, read from its postings (the ledger is the only source of truth)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import ValidationFailed
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

from ..models import Posting
from . import counterparty_labels, require_period, wallet_get


def wallet_transaction_history(*, wallet_id: str, start_date: dt.datetime | None = None,
                               end_date: dt.datetime | None = None, kind: str | None = None,
                               limit: int | None = None, cursor: str | None = None) -> Page:
    """Newest first in posting order, cursor-paginated; `start_date` inclusive, `end_date` exclusive.

    Posting order, not date order: each row's `balance_after` is the one below it plus its amount,
    even where an entry was dated back (demo history, `run_billing --now`)."""
    if start_date and end_date:
        require_period(start_date, end_date)
    wallet = wallet_get(wallet_id=wallet_id)
    qs = Posting.objects.filter(account_id=wallet.account_id).select_related("entry")
    if start_date:
        qs = qs.filter(created__gte=start_date)
    if end_date:
        qs = qs.filter(created__lt=end_date)
    if kind:
        qs = qs.filter(kind=kind)
    page = _by_posting_order(qs, limit=limit, cursor=cursor)
    others = counterparty_labels([p.entry_id for p in page.items], exclude_account=wallet.account_id,
                                 currency=wallet.currency)
    items: list[dict[str, Any]] = [{
        "id": p.entry_id, "object": "wallet_transaction", "wallet_id": wallet.pk, "kind": p.kind,
        "description": p.entry.description, "amount": p.amount, "currency": p.currency,
        "balance_after": p.balance_after, "counterparty": others.get(p.entry_id, ""),
        "reverses": p.entry.reverses_id, "created": p.created,
    } for p in page.items]
    return Page(items, page.has_more, page.next_cursor)


def _by_posting_order(qs, *, limit: int | None, cursor: str | None) -> Page:
    # Same cursor format as core.pagination (created, id); only the id orders and resumes.
    limit = min(max(int(limit or DEFAULT_LIMIT), 1), MAX_LIMIT)
    qs = qs.order_by("-pk")
    if cursor:
        _, pk = decode_cursor(cursor)
        try:
            qs = qs.filter(pk__lt=int(pk))
        except ValueError:
            raise ValidationFailed({"cursor": ["Invalid cursor."]}) from None
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_more, encode_cursor(rows[-1].created, rows[-1].pk) if has_more and rows else None)
