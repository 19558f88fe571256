"""Celery tasks of the rollups: customer activity (beat rows from migration 0010_customer_activity_schedules) and
payment days (0012_payment_days_schedules), the customers snapshot (0014_customers_snapshot_schedule)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

REFRESH_TASK = "monitoring.refresh_customer_activity"
BUILD_TASK = "monitoring.build_customer_activity"


@shared_task(name=REFRESH_TASK, ignore_result=True)
def refresh_customer_activity() -> dict:
    """Every five minutes: the recent months of the rollups (in full the first time)."""
    from .services_rollups import customer_activity_refresh

    return asdict(customer_activity_refresh())


@shared_task(name=BUILD_TASK, ignore_result=True)
def build_customer_activity() -> dict:
    """Nightly: every month again, for payments that succeeded long after they were created."""
    from .services_rollups import customer_activity_refresh

    return asdict(customer_activity_refresh(full=True))


PAYMENT_DAYS_REFRESH_TASK = "monitoring.refresh_payment_days"
PAYMENT_DAYS_BUILD_TASK = "monitoring.build_payment_days"


@shared_task(name=PAYMENT_DAYS_REFRESH_TASK, ignore_result=True)
def refresh_payment_days() -> dict:
    """Every five minutes: the recent days and the days changed payments and refunds touched."""
    from .services_rollups import payment_days_refresh

    return asdict(payment_days_refresh())


@shared_task(name=PAYMENT_DAYS_BUILD_TASK, ignore_result=True)
def build_payment_days() -> dict:
    """Nightly: every day again (a change that did not stamp `updated` is picked up here)."""
    from .services_rollups import payment_days_refresh

    return asdict(payment_days_refresh(full=True))


CUSTOMERS_SNAPSHOT_TASK = "monitoring.refresh_customers_snapshot"


@shared_task(name=CUSTOMERS_SNAPSHOT_TASK, ignore_result=True)
def refresh_customers_snapshot() -> str:
    """Every five minutes: the customers page's figures for the last 30 days."""
    from .services_rollups import customers_snapshot_refresh

    return str(customers_snapshot_refresh())
