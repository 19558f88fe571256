"""Every write of the subscriptions app: each public service is a use case (`core.db.use_case`)."""

from .attempts import invoice_pay
from .billing import billing_run
from .dunning import dunning_settings_save
from .invoices import invoice_finalize, invoice_mark_uncollectible, invoice_void
from .plans import plan_archive, plan_create
from .subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_change_preview,
    subscription_create,
    subscription_pause,
    subscription_resume,
    subscription_set_payment_source,
)

__all__ = ["billing_run", "dunning_settings_save", "invoice_finalize", "invoice_mark_uncollectible", "invoice_pay",
           "invoice_void", "plan_archive", "plan_create", "subscription_cancel", "subscription_change",
           "subscription_change_preview", "subscription_create", "subscription_pause", "subscription_resume",
           "subscription_set_payment_source"]
