"""Event types and a renderer declared by the tests (app `tests`: never in docs/EVENTS.md)."""

from django.db import models

from accounts.models import Customer
from core.events import declare_events, declare_object, render_as


@declare_events(scope="payments:read", permission="accounts.view_customer")
class PaymentSideEvent(models.TextChoices):
    POKED = "test.customer_poked", "A test event read with payments:read"


@declare_events(scope="wallets:read", permission="accounts.view_customer")
class WalletSideEvent(models.TextChoices):
    NUDGED = "test.customer_nudged", "A test event read with wallets:read"


declare_object(Customer, render_as("get_customer"))
