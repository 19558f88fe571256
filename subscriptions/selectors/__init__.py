"""Reads of the subscriptions app."""

from __future__ import annotations

from core import clock
from core.ids import get_by_public_id
from core.money import normalize_currency
from core.pagination import Page, filter_present, paginate

from ..errors import InvoiceNotFound, SubscriptionNotFound
from ..models import BillingRun, DunningSettings, Invoice, Plan, Subscription
from .analytics import subscription_analytics

__all__ = ["billing_run_latest", "dunning_settings_get", "invoice_get", "invoice_list", "plan_list",
           "subscription_analytics", "subscription_get", "subscription_list"]


def plan_list(*, active: bool | None = None, currency: str | None = None, limit: int | None = None,
              cursor: str | None = None) -> Page:
    qs = filter_present(Plan.objects.all(), active=active,
                        currency=normalize_currency(currency) if currency else None)
    return paginate(qs, limit=limit, cursor=cursor)


def subscription_get(*, subscription_id: str) -> Subscription:
    return get_by_public_id(Subscription.objects.select_related("plan"), subscription_id, field="subscription_id",
                            error=SubscriptionNotFound)


def subscription_list(*, customer_id: str | None = None, plan_id: str | None = None, status: str | None = None,
                      limit: int | None = None, cursor: str | None = None) -> Page:
    qs = filter_present(Subscription.objects.select_related("plan"), customer_id=customer_id, plan_id=plan_id,
                        status=status)
    return paginate(qs, limit=limit, cursor=cursor)


def invoice_get(*, invoice_id: str) -> Invoice:
    return get_by_public_id(Invoice.objects.prefetch_related("lines"), invoice_id, field="invoice_id",
                            error=InvoiceNotFound)


def invoice_list(*, subscription_id: str | None = None, customer_id: str | None = None, status: str | None = None,
                 limit: int | None = None, cursor: str | None = None) -> Page:
    qs = filter_present(Invoice.objects.prefetch_related("lines"), subscription_id=subscription_id,
                        customer_id=customer_id, status=status)
    return paginate(qs, limit=limit, cursor=cursor)


def billing_run_latest() -> BillingRun | None:
    return BillingRun.objects.order_by("-started").first()


DEFAULT_RETRY_DAYS = [1, 3, 7, 14]


def dunning_settings_get() -> DunningSettings:
    """The schedule in force: the newest settings row; the default (4 retries over 14 days, then
    unpaid) when staff never saved one."""
    current = DunningSettings.objects.order_by("-created", "-id").first()
    return current or DunningSettings(retry_days=DEFAULT_RETRY_DAYS, final_action="unpaid", created=clock.now())
