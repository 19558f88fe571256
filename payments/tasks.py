"""Celery tasks: thin, idempotent adapters over the services."""

from celery import shared_task

from core.context import Actor

from . import services
from .services import reconciliation, webhooks


@shared_task(name="payments.expire_authorisations")
def expire_authorisations() -> int:
    return services.payment_expire_authorisations(actor=Actor.for_task("payments.expire_authorisations"))


@shared_task(name="payments.settle_unknown")
def settle_unknown() -> int:
    return services.payment_settle_unknown(actor=Actor.for_task("payments.settle_unknown"))


@shared_task(name="payments.reconcile")
def reconcile(run_date: str | None = None) -> int:
    return reconciliation.reconciliation_run(actor=Actor.for_task("payments.reconcile"), run_date=run_date)


@shared_task(name="payments.retry_failed_webhooks")
def retry_failed_webhooks() -> int:
    return webhooks.webhook_retry_failed(actor=Actor.for_task("payments.retry_failed_webhooks"))
