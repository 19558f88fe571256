"""Reads of the payments app."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from core.ids import get_by_public_id
from core.pagination import Page, filter_present, paginate

from .models import Payment, Refund


def payment_get(*, payment_id: str) -> Payment:
    return get_by_public_id(Payment.objects.all(), payment_id, field="payment_id", message="No such payment.")


def refund_get(*, refund_id: str) -> Refund:
    return get_by_public_id(Refund.objects.select_related("payment"), refund_id, field="refund_id",
                            message="No such refund.")


def payment_queryset(*, status: str | None = None, customer_id: str | None = None, provider: str | None = None,
                     currency: str | None = None, created_gte: dt.datetime | None = None,
                     created_lte: dt.datetime | None = None) -> QuerySet[Payment]:
    return filter_present(Payment.objects.all(), status=status, customer_id=customer_id, provider=provider,
                          currency=currency.upper() if currency else None, created__gte=created_gte,
                          created__lte=created_lte)


def payment_list(*, limit: int = 20, cursor: str | None = None, **filters) -> Page:
    return paginate(payment_queryset(**filters), limit=limit, cursor=cursor)
