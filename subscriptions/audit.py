"""Audit actions of plans, subscriptions, invoices and dunning (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class SubscriptionsAction(models.TextChoices):
    PLAN_CREATED = "plan.created", "A plan was created"
    PLAN_ARCHIVED = "plan.archived", "A plan was archived"
    SUBSCRIPTION_CREATED = "subscription.created", "A subscription was created"
    SUBSCRIPTION_CHANGED = "subscription.changed", "A subscription's plan or quantity changed"
    SUBSCRIPTION_PAUSED = "subscription.paused", "A subscription was paused"
    SUBSCRIPTION_RESUMED = "subscription.resumed", "A subscription was resumed"
    SUBSCRIPTION_CANCELED = "subscription.canceled", "A subscription was canceled"
    SUBSCRIPTION_PAYMENT_SOURCE_CHANGED = ("subscription.payment_source_changed",
                                           "A subscription's payment method or wallet changed")
    SUBSCRIPTION_INCOMPLETE_EXPIRED = ("subscription.incomplete_expired",
                                       "A subscription's first payment never succeeded in time")
    SUBSCRIPTION_DUNNING_ENDED = "subscription.dunning_ended", "Dunning ended with its final action"
    INVOICE_FINALIZED = "invoice.finalized", "An invoice was finalized and numbered"
    INVOICE_PAID = "invoice.paid", "An invoice was paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed", "An attempt to collect an invoice failed"
    INVOICE_PAYMENT_ATTEMPTED = "invoice.payment_attempted", "An attempt to collect an invoice was opened"
    INVOICE_VOIDED = "invoice.voided", "An invoice was voided"
    INVOICE_MARKED_UNCOLLECTIBLE = "invoice.marked_uncollectible", "An invoice was marked uncollectible"
    DUNNING_SETTINGS_SAVED = "dunning_settings.saved", "The dunning schedule was changed"
