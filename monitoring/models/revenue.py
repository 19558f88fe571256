"""Stored revenue forecasts (the daily job `monitoring.compute_revenue_forecasts`): the Revenue page and
`generate_revenue_analytics` read them, never fit a model per request."""

from __future__ import annotations

from django.db import models

from core.ids import PublicIdField


class RevenueForecast(models.Model):
    """One currency's 30-day forecast of daily gross (captured amounts, minor units), with its backtest: the
    model's and the weekly seasonal-naive baseline's MAPE over rolling origins."""

    id = PublicIdField(prefix="rfc")
    currency = models.CharField(max_length=3)
    computed_at = models.DateTimeField()
    model_name = models.CharField(max_length=60)
    model_version = models.CharField(max_length=40)
    horizon = models.PositiveSmallIntegerField(help_text="Days forecast, from the day after training_end.")
    points = models.JSONField(default=list,
                              help_text="Each day: the date, the forecast, its lower and upper bounds (80 % band).")
    mape = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True,
                               help_text="The model's backtested MAPE (fraction); empty without a backtest.")
    baseline_mape = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True,
                                        help_text="The weekly seasonal-naive baseline's MAPE over the same origins.")
    training_start = models.DateField()
    training_end = models.DateField(help_text="Last day of history used (the day before computed_at's day).")
    origins = models.JSONField(default=list, help_text="Backtest origins: the first forecast day of each.")
    backtest_points = models.PositiveIntegerField(default=0, help_text="Days scored over all origins.")
    excluded_zero_days = models.PositiveIntegerField(default=0,
                                                     help_text="Days left out of the MAPE: their actual was zero.")

    class Meta:
        ordering = ["currency", "-computed_at"]
        get_latest_by = "computed_at"
        indexes = [models.Index(fields=["currency", "-computed_at"], name="revenueforecast_latest_idx")]

    def __str__(self) -> str:
        return f"{self.currency} forecast @ {self.computed_at:%Y-%m-%d %H:%M}"
