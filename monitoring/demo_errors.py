"""Demo error log: the demo's real failures, nothing made up for show.

The payments demo pays some of its payments with `tok_timeout`, whose provider call really times out in
the sandbox; those payments are left `unknown` until verified. Each one is reported here, as a
reconciliation watcher would, through the error log's own path (grouped by source and message
template: one group whose count is the number of such payments, with the last one as the sample).
Whatever the demo logged at ERROR while seeding is in the log too (the handler is installed).
"""

from __future__ import annotations

from typing import Any

from core.context import Actor
from payments.models import Payment

from .errorlog import error_occurrence_record, message_occurrence
from .models import ErrorGroup

SOURCE = "payments.reconciliation"
LIMIT = 200


def _occurrence(payment: Payment) -> Any:
    occurrence = message_occurrence(
        f"payment {payment.pk} outcome unknown after the provider timed out; verify it with the provider",
        level="warning", source=SOURCE,
        details={"payment_id": payment.pk, "provider": payment.provider, "currency": payment.currency})
    occurrence.at = payment.updated
    occurrence.request_id = ""
    return occurrence


def seed(*, rng: Any, stdout: Any) -> None:
    unknown = list(Payment.objects.filter(status=Payment.Status.UNKNOWN).order_by("updated", "pk")[:LIMIT])
    if not unknown:
        return
    if ErrorGroup.objects.filter(fingerprint=_occurrence(unknown[0]).fingerprint).exists():
        return  # seeded by an earlier run
    actor = Actor.system("demo")
    for payment in unknown:
        error_occurrence_record(actor=actor, occurrence=_occurrence(payment))
    if stdout is not None:
        stdout.write(f"  error log: {len(unknown)} payments left unknown by provider timeouts reported")
