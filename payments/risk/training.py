"""Retraining the fraud model from stored payments and their labels (docs/RISK.md, "Retraining").

A run reads the stored payments of the last `days` (their `fraud_label` is the label: review outcomes,
later lost disputes; unknown labels are features' history only), and while fewer than `min_labelled`
of them carry a label it adds simulated history over the same weeks (`simulated_customers` customers of
the simulator, their ids, merchants and devices prefixed `sim:` so they never meet the real ones). It
then trains a candidate as `fraud_train` does (time split, label delay, held-out metrics beside the
rules baseline), registers it, and applies the promotion rule against the active model measured on the
same test rows: a worse candidate stays a candidate. Each step is committed to the run's row as it
happens (progress, log), so the admin shows where a run is.

Entry points: `fraud_training_request` (the admin's "Train a candidate now": a queued run and its task,
through the outbox) and `fraud_training_run` (the task; the weekly beat job runs a new run inline).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
from django.conf import settings

from core import clock, outbox
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.models import touch

from ..audit import PaymentsAction
from . import model as fraud_model
from .dataset import rows_to_frame
from .online import _FIELDS, _frame, to_ms
from .simulate import simulate

TASK = "payments.risk_train"
DEFAULTS: dict[str, Any] = {
    "days": 180,  # the training window of stored payments
    "min_labelled": 5000,  # below this many labelled stored payments, simulated history is added
    "simulated_customers": 300,  # about 37,000 rows over 120 days
    "simulated_days": 120,  # at most; never more than the window
    "rounds": fraud_model.ROUNDS,
}


def retraining_settings() -> dict[str, Any]:
    return {**DEFAULTS, **getattr(settings, "PAYMENTS_RISK_RETRAINING", {})}


@use_case
def fraud_training_request(*, actor: Actor, trigger: str = "staff"):
    """A queued run, started by its task after commit (the outbox sends it even if the broker was down)."""
    run = _new_run(actor, trigger)
    outbox.enqueue(TASK, run.id)
    return run


def _new_run(actor: Actor, trigger: str):
    from core.models import stamp
    from payments.models import FraudTrainingRun

    run = FraudTrainingRun(trigger=trigger, log=[_line("queued")])
    stamp(run, actor=actor)
    run.save(force_insert=True)
    audit_record(action=PaymentsAction.RISK_TRAINING_REQUESTED, actor=actor, obj=run, details={"trigger": trigger})
    return run


@use_case(steps=True)
def fraud_training_run(*, actor: Actor, run_id: str | None = None, trigger: str = "schedule"):
    """Runs a queued run (or, without `run_id`, a new one): train, register, apply the promotion rule.
    A run that is not queued any more (a duplicate delivery of its task) is returned as it is."""
    from payments.models import FraudTrainingRun

    if run_id is None:
        run = run_in_transaction(lambda: _new_run(actor, trigger))
    else:
        run = run_in_transaction(lambda: _claim(run_id))
        if run is None:
            return FraudTrainingRun.objects.get(pk=run_id)
    try:
        return _train(run, actor)
    except Exception as exc:
        # The run's row says it failed and why (else it would show "running" for ever); data that cannot
        # train a model (no fraud, or no legitimate, labelled rows) is an outcome, anything else re-raised.
        _step(run, run.progress, f"failed: {type(exc).__name__}: {exc}"[:500], status=FraudTrainingRun.Status.FAILED,
              reason=str(exc)[:300], finished_at=clock.now())
        if isinstance(exc, ValueError):
            return run
        raise


def _claim(run_id: str):
    from payments.models import FraudTrainingRun

    run = FraudTrainingRun.objects.select_for_update().get(pk=run_id)
    if run.status != FraudTrainingRun.Status.QUEUED:
        return None
    run.status = FraudTrainingRun.Status.RUNNING
    touch(run, "status")
    return run


def _train(run, actor: Actor):
    from payments.models import FraudTrainingRun, Payment

    conf = retraining_settings()
    end = clock.now()
    start = end - dt.timedelta(days=int(conf["days"]))
    _step(run, 5, f"reading stored payments since {clock.isoformat(start)}", status=FraudTrainingRun.Status.RUNNING)
    rows = [(*r[:2], to_ms(r[2]), *r[3:]) for r in
            Payment.objects.filter(created__gte=start, created__lt=end).values_list(*_FIELDS).iterator(2000)]
    stored = _frame(rows)
    labelled = int((~np.isnan(stored["label"])).sum())
    frames, simulated = [stored], 0
    if labelled < int(conf["min_labelled"]):
        days = min(int(conf["simulated_days"]), int(conf["days"]))
        sim_start = (end - dt.timedelta(days=days)).date()
        _step(run, 15, f"{len(rows)} stored payments, {labelled} labelled (fewer than {conf['min_labelled']}): "
                       f"adding simulated history of {conf['simulated_customers']} customers over {days} days",
              stored_rows=len(rows), labelled_rows=labelled)
        seed = int(sim_start.strftime("%Y%m%d"))
        sim = _prefixed(rows_to_frame(simulate(customers=int(conf["simulated_customers"]), days=days, seed=seed,
                                               start=sim_start)))
        simulated = len(sim["ts"])
        frames.append(sim)
    _step(run, 30, f"training on {len(rows) + simulated} rows ({labelled} labelled stored, {simulated} simulated)",
          stored_rows=len(rows), labelled_rows=labelled, simulated_rows=simulated)
    frame = _concat(frames)
    if not len(frame["ts"]):
        raise ValueError("No payments in the training window.")
    trained = fraud_model.train(frame, rounds=int(conf["rounds"]))
    metrics = trained.metrics
    _step(run, 80, f"trained: AUPRC {metrics.get('auprc')} (rules {metrics['rules_baseline'].get('auprc')}) on "
                   f"{metrics['split']['test_rows']} test rows; registering and applying the promotion rule")
    fingerprint = hashlib.sha256("\n".join(frame["id"]).encode()).hexdigest()
    out = fraud_model.register(actor=actor, trained=trained, data_fingerprint=fingerprint, activate=True)
    from core.models import MLModel

    candidate = MLModel.objects.defer("artifact").get(pk=out["model_id"])
    verdict = "promoted: active" if out["activated"] else "stays a candidate"
    _step(run, 100, f"{candidate.version} {verdict} ({out['reason']})", status=FraudTrainingRun.Status.SUCCEEDED,
          model=candidate, promoted=out["activated"], reason=out["reason"][:300], finished_at=clock.now())
    return run


def _prefixed(frame: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for name in ("id", "customer", "merchant", "device"):
        frame[name] = np.array([f"sim:{v}" if v else "" for v in frame[name]], dtype=object)
    return frame


def _concat(frames: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One frame in time order (ties keep the order of `frames`), as the features expect."""
    if len(frames) == 1:
        return frames[0]
    joined = {name: np.concatenate([f[name] for f in frames]) for name in frames[0]}
    order = np.argsort(joined["ts"], kind="stable")
    return {name: values[order] for name, values in joined.items()}


def _line(text: str) -> dict[str, str | None]:
    return {"at": clock.isoformat(clock.now()), "step": text}


def _step(run, progress: int, text: str, **fields: Any) -> None:
    """Records a step on the run's row in a transaction of its own, so the admin sees it at once."""

    def write() -> None:
        run.progress = progress
        run.log = [*run.log, _line(text)]
        for name, value in fields.items():
            setattr(run, name, value)
        touch(run, "progress", "log", *fields)

    run_in_transaction(write)
