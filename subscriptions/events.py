"""Event types of subscriptions and invoices (declared once; see core.events)."""

from django.db import models

from core.events import declare_events, declare_object, render_as

from .models import Invoice, Subscription


@declare_events(scope="subscriptions:read", permission="subscriptions.view_subscription")
class SubscriptionsEvent(models.TextChoices):
    SUBSCRIPTION_CREATED = "subscription.created", "A subscription was created"
    SUBSCRIPTION_UPDATED = "subscription.updated", "A subscription's plan, quantity or renewal changed"
    SUBSCRIPTION_PAST_DUE = "subscription.past_due", "A subscription's invoice could not be collected"
    SUBSCRIPTION_CANCELED = "subscription.canceled", "A subscription was canceled"
    SUBSCRIPTION_PAUSED = "subscription.paused", "A subscription was paused"
    SUBSCRIPTION_RESUMED = "subscription.resumed", "A paused subscription was resumed"


@declare_events(scope="subscriptions:read", permission="subscriptions.view_invoice")
class InvoicesEvent(models.TextChoices):
    INVOICE_CREATED = "invoice.created", "An invoice was created"
    INVOICE_FINALIZED = "invoice.finalized", "An invoice was finalized (open for payment)"
    INVOICE_PAID = "invoice.paid", "An invoice was paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed", "An attempt to collect an invoice failed"
    INVOICE_VOIDED = "invoice.voided", "An invoice was voided"


declare_object(Subscription, render_as("get_subscription"))
declare_object(Invoice, render_as("get_invoice"))
