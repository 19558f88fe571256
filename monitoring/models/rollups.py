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
