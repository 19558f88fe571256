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


@shared_task(name="payments.risk_train")
def risk_train(run_id: str | None = None) -> str:
    """The weekly beat job (no run_id: a new run) or a run the admin queued; returns the run's status."""
    from .risk.training import fraud_training_run  # xgboost and numpy load only where a model trains

    run = fraud_training_run(actor=Actor.for_task("payments.risk_train"), run_id=run_id)
    return run.status
