"""Event types of customers (declared once; see core.events)."""

from django.db import models

from core.events import declare_events, declare_object, render_as

from .models import Customer


@declare_events(scope="payments:read", permission="accounts.view_customer")
class AccountsEvent(models.TextChoices):
    CUSTOMER_CREATED = "customer.created", "A customer was created"
    CUSTOMER_UPDATED = "customer.updated", "A customer's details or status changed"
    CUSTOMER_KYC_UPDATED = "customer.kyc_updated", "A customer's KYC status changed"


declare_object(Customer, render_as("get_customer"))
