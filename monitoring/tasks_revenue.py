"""Celery task of the revenue part (beat row from migration 0007_revenue_forecast_schedule)."""

from __future__ import annotations

from celery import shared_task

from core.context import Actor

FORECAST_TASK = "monitoring.compute_revenue_forecasts"


@shared_task(name=FORECAST_TASK, ignore_result=True)
def compute_revenue_forecasts() -> dict:
    """Daily: fits and stores each currency's revenue forecast (the page and the API only read them)."""
    from .services_revenue import forecast_compute

    result = forecast_compute(actor=Actor.for_task(FORECAST_TASK))
    return {"stored": [f.currency for f in result.stored], "skipped": result.skipped}
