"""Reads of the payments app."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from core.errors import NotFound
from core.ids import has_prefix
from core.pagination import Page, filter_present, paginate

from .models import Payment, Refund


def payment_get(*, payment_id: str) -> Payment:
    if not has_prefix(payment_id, "pay"):
        raise NotFound("No such payment.", details={"payment_id": payment_id})
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.", details={"payment_id": payment_id})
    return payment


def refund_get(*, refund_id: str) -> Refund:
    if not has_prefix(refund_id, "re"):
        raise NotFound("No such refund.", details={"refund_id": refund_id})
    refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is None:
        raise NotFound("No such refund.", details={"refund_id": refund_id})
    return refund


def payment_queryset(*, status: str | None = None, customer_id: str | None = None, provider: str | None = None,
                     currency: str | None = None, created_gte: dt.datetime | None = None,
                     created_lte: dt.datetime | None = None) -> QuerySet[Payment]:
    return filter_present(Payment.objects.all(), status=status, customer_id=customer_id, provider=provider,
                          currency=currency.upper() if currency else None, created__gte=created_gte,
                          created__lte=created_lte)


def payment_list(*, limit: int = 20, cursor: str | None = None, **filters) -> Page:
    return paginate(payment_queryset(**filters), limit=limit, cursor=cursor)
