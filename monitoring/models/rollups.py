"""Rollups of customer activity, kept by `monitoring.services_rollups` from succeeded payments (every five
minutes for the current and previous month, nightly in full): the customers page's cohort table and first
payments read them instead of a year of payments. A payment never stops being succeeded, so these only grow
(or a customer's first payment moves earlier)."""

from __future__ import annotations

from django.db import models

ANY_CURRENCY = ""


class CustomerFirstPayment(models.Model):
    """When a customer's first succeeded payment was created, in one currency or (currency "") in any."""

    customer_id = models.CharField(max_length=40)
    currency = models.CharField(max_length=3, blank=True, help_text='Empty: the first payment in any currency.')
    first_at = models.DateTimeField()
    first_month = models.DateField(help_text="The first day of first_at's UTC month: the customer's cohort.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer_id", "currency"], name="customer_first_unique")]
        indexes = [models.Index(fields=["currency", "first_at"], name="customer_first_time_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency or 'any'} first paid {self.first_at:%Y-%m-%d}"


class CustomerActiveMonth(models.Model):
    """A customer had a succeeded payment created in this UTC month, in this currency ("": in any)."""

    customer_id = models.CharField(max_length=40)
    currency = models.CharField(max_length=3, blank=True)
    month = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer_id", "currency", "month"],
                                               name="customer_active_month_unique")]
        indexes = [models.Index(fields=["month"], name="customer_active_month_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency or 'any'} {self.month:%Y-%m}"


class CohortMonth(models.Model):
    """How many customers whose first succeeded payment was in `cohort` paid again (or, in their first month,
    at all) in `month`, per currency ("": any currency)."""

    currency = models.CharField(max_length=3, blank=True)
    cohort = models.DateField()
    month = models.DateField()
    customers = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "cohort", "month"], name="cohort_month_unique")]

    def __str__(self) -> str:
        return f"{self.currency or 'any'} cohort {self.cohort:%Y-%m} in {self.month:%Y-%m}: {self.customers}"


class RollupBuild(models.Model):
    """When a rollup was last built in full and last refreshed (`name`: "customer_activity")."""

    name = models.CharField(max_length=40, primary_key=True)
    built_at = models.DateTimeField(help_text="Last full build (every month recomputed).")
    refreshed_at = models.DateTimeField(help_text="Last refresh, full or of the recent months.")

    def __str__(self) -> str:
        return f"{self.name} refreshed {self.refreshed_at:%Y-%m-%d %H:%M}"


class PaymentDay(models.Model):
    """One UTC day of payments per currency, payment method, provider and (failed payments only) failure code,
    kept by `monitoring.services_rollups.payment_days_refresh`: the revenue, payments and overview pages read
    closed days here and compute the days since the last refresh from the payments themselves.

    Three kinds of measure share a row, each by its own day: payments *created* on the day (counts, and over
    those that captured money: captured and refunded amounts), money *captured* on the day (gross, fees), and
    succeeded refunds *made* on the day (under their payment's method and provider)."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=16)
    provider = models.CharField(max_length=40, blank=True)
    failure_code = models.CharField(max_length=60, blank=True, help_text="Failed payments' code; empty otherwise.")
    payments = models.PositiveIntegerField(default=0, help_text="Payments created on the day.")
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    captured_payments = models.PositiveIntegerField(default=0, help_text="Of those, payments that captured money.")
    captured_amount = models.BigIntegerField(default=0)
    refunded_amount = models.BigIntegerField(default=0, help_text="Refunded (not failed) of those captures, so far.")
    refunded_payments = models.PositiveIntegerField(default=0)
    gross = models.BigIntegerField(default=0, help_text="Captured on the day (any creation day).")
    fees = models.BigIntegerField(default=0)
    captures = models.PositiveIntegerField(default=0)
    refunds = models.BigIntegerField(default=0, help_text="Succeeded refunds made on the day.")
    fees_returned = models.BigIntegerField(default=0)
    refund_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "currency", "method", "provider", "failure_code"],
                                               name="payment_day_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency} {self.method} {self.provider or '-'} {self.failure_code}".rstrip()


class CustomersSnapshot(models.Model):
    """The customers page's RFM figures for its default period (the last 30 days), computed by a job every five
    minutes (`monitoring.services_rollups.customers_snapshot_refresh`): scoring a month's paying customers takes
    about a second at a million payments. Other periods are computed on request."""

    start = models.DateField()
    end = models.DateField()
    currency = models.CharField(max_length=3, blank=True, help_text="Empty: every currency.")
    computed_at = models.DateTimeField()
    data = models.JSONField(help_text="Segments, top customers, the period's and the previous period's summary.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["start", "end", "currency"], name="customers_snapshot_unique")]

    def __str__(self) -> str:
        return f"customers {self.start} to {self.end} {self.currency or 'all'} at {self.computed_at:%H:%M}"
