"""The model registry: register a trained model as a candidate, promote it by the promotion rule,
retire it or roll back to the previous active model. Every change is audited (core.ml.audit).

The promotion rule (`promotion_decision`), on metrics measured on one evaluation set:
1. a model no better than chance (ROC-AUC at most 0.5) is never active;
2. the candidate must beat the rules baseline on the key metric (AUPRC by default);
3. it must not be worse than the active model on that metric.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.events import emit
from core.ids import get_by_public_id, random_chars
from core.models import AuditEvent, MLModel, stamp, touch

from .audit import ModelRegistryAction
from .errors import ModelNotComparable, ModelNotFound, NoActiveModel, NoPreviousModel
from .events import ModelRegistryEvent

KEY_METRIC = "auprc"

# How each model name is retrained, declared by the app that owns it (core imports no app): the staff
# operation that starts a training run and the admin page (URL name) where the run's form is.
_trainers: dict[str, tuple[str, str]] = {}


def register_trainer(name: str, *, operation: str, admin_url: str) -> None:
    _trainers[name] = (operation, admin_url)


def trainers() -> dict[str, tuple[str, str]]:
    """{model name: (operation, admin URL name)} of every retrainable model."""
    return dict(_trainers)


def promotion_decision(candidate: dict[str, Any], active: dict[str, Any] | None, baseline: dict[str, Any] | None,
                       key: str = KEY_METRIC) -> tuple[bool, str]:
    """(promote?, reason): the rule above, on metric dicts of the same evaluation set."""
    auc, value = candidate.get("roc_auc"), candidate.get(key)
    if auc is None or value is None:
        return False, "no_metrics: the candidate has no held-out metrics"
    if auc <= 0.5:
        return False, f"worse_than_chance: ROC-AUC {auc} is not above 0.5"
    if baseline is not None and baseline.get(key) is not None and value <= baseline[key]:
        return False, f"not_better_than_rules: {key} {value} <= rules {baseline[key]}"
    if active is not None and active.get(key) is not None and value < active[key]:
        return False, f"worse_than_active: {key} {value} < active {active[key]}"
    reason = f"{key} {value} > rules {baseline.get(key) if baseline else None}"
    return True, reason + (f", >= active {active.get(key)}" if active else ", no active model")


def below_chance(model: MLModel) -> bool:
    """True when the stored metrics say the model ranks worse than a coin (shown with a warning)."""
    auc = (model.metrics or {}).get("roc_auc")
    return auc is not None and auc <= 0.5


def model_get(model_id: str) -> MLModel:
    return get_by_public_id(MLModel.objects.all(), model_id, field="model_id", message="No such model.",
                            error=ModelNotFound)


def model_active(name: str) -> MLModel | None:
    return MLModel.objects.filter(name=name, status=MLModel.Status.ACTIVE).first()


def model_list(name: str | None = None) -> QuerySet[MLModel]:
    qs = MLModel.objects.defer("artifact")
    return qs.filter(name=name) if name else qs


def new_version(name: str, at: dt.datetime) -> str:
    """A model's version: its name, when it was trained (UTC, to the second) and four random characters.

    The date and the time are kept apart by a "T": written as one run of 14 digits ("20261204042125") the stamp
    passed the card-number checksum about one time in ten, and the PCI check that scans every stored text column
    for card numbers then found one in the model's version and in its events."""
    return f"{name}-{at.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{random_chars(4).lower()}"


@use_case
def model_register(*, actor: Actor, name: str, version: str, features: list[str], artifact: bytes,
                   artifact_format: str, data_fingerprint: str, params: dict[str, Any],
                   metrics: dict[str, Any], eval_fingerprint: str = "", window_start: dt.datetime | None = None,
                   window_end: dt.datetime | None = None) -> MLModel:
    model = MLModel(name=name, version=version, features=list(features), artifact=bytes(artifact),
                    artifact_format=artifact_format, data_fingerprint=data_fingerprint, params=params,
                    metrics=metrics, eval_fingerprint=eval_fingerprint, window_start=window_start,
                    window_end=window_end)
    stamp(model, actor=actor)
    model.save(force_insert=True)
    audit_record(action=ModelRegistryAction.MODEL_REGISTERED, actor=actor, obj=model,
                 details={"name": name, "version": version, "metrics": _headline(metrics)})
    emit(ModelRegistryEvent.MODEL_REGISTERED, model, actor=actor)
    return model


@use_case
def model_promote(*, actor: Actor, model_id: str,
                  evaluation: dict[str, Any] | None = None) -> tuple[MLModel, bool, str]:
    """Applies the promotion rule. `evaluation` holds `candidate`, `active` (None when there is none),
    `baseline` metrics and `active_model_id`, all measured on one set just now; without it, the stored
    metrics are used, which must come from the same evaluation set as the active model's."""
    candidate = _lock(model_id)
    if candidate.status == MLModel.Status.ACTIVE:
        return candidate, True, "already_active"
    active = MLModel.objects.select_for_update().filter(name=candidate.name, status=MLModel.Status.ACTIVE).first()
    if evaluation is None:
        if active is not None and active.eval_fingerprint != candidate.eval_fingerprint:
            raise ModelNotComparable(details={"model_id": candidate.id, "active_model_id": active.id})
        evaluation = {"candidate": candidate.metrics, "active": active.metrics if active else None,
                      "baseline": candidate.metrics.get("rules_baseline"),
                      "active_model_id": active.id if active else None}
    if (active.id if active else None) != evaluation.get("active_model_id"):
        raise ModelNotComparable("The active model changed since the evaluation.",
                                 details={"model_id": candidate.id})
    ok, reason = promotion_decision(evaluation["candidate"], evaluation.get("active"), evaluation.get("baseline"))
    now = clock.now()
    candidate.promotion = {"at": clock.isoformat(now), "promoted": ok, "reason": reason,
                           "active_model_id": active.id if active else None,
                           "candidate": _headline(evaluation["candidate"]),
                           "active": _headline(evaluation.get("active") or {}),
                           "baseline": _headline(evaluation.get("baseline") or {})}
    if not ok:
        touch(candidate, "promotion", now=now)
        audit_record(action=ModelRegistryAction.MODEL_PROMOTION_REFUSED, actor=actor, obj=candidate,
                     outcome=AuditEvent.Outcome.FAILURE, details={"reason": reason})
        return candidate, False, reason
    if active is not None:
        active.status, active.retired_at = MLModel.Status.RETIRED, now
        touch(active, "status", "retired_at", now=now)
        emit(ModelRegistryEvent.MODEL_RETIRED, active, previous={"status": MLModel.Status.ACTIVE.value}, actor=actor)
    before = candidate.status
    candidate.status, candidate.activated_at = MLModel.Status.ACTIVE, now
    touch(candidate, "status", "activated_at", "promotion", now=now)
    audit_record(action=ModelRegistryAction.MODEL_PROMOTED, actor=actor, obj=candidate,
                 details={"reason": reason, "replaced": active.id if active else None})
    emit(ModelRegistryEvent.MODEL_ACTIVATED, candidate, previous={"status": before}, actor=actor)
    return candidate, True, reason


@use_case
def model_retire(*, actor: Actor, model_id: str) -> MLModel:
    model = _lock(model_id)
    if model.status != MLModel.Status.RETIRED:
        before = model.status
        model.status, model.retired_at = MLModel.Status.RETIRED, clock.now()
        touch(model, "status", "retired_at")
        audit_record(action=ModelRegistryAction.MODEL_RETIRED, actor=actor, obj=model)
        emit(ModelRegistryEvent.MODEL_RETIRED, model, previous={"status": before}, actor=actor)
    return model


@use_case
def model_rollback(*, actor: Actor, name: str) -> MLModel:
    """The active model retires; the most recently retired model that was once active, and is better
    than chance, becomes active again."""
    active = MLModel.objects.select_for_update().filter(name=name, status=MLModel.Status.ACTIVE).first()
    if active is None:
        raise NoActiveModel(details={"name": name})
    previous = [m for m in MLModel.objects.select_for_update().filter(
        name=name, status=MLModel.Status.RETIRED, activated_at__isnull=False).order_by("-retired_at")
        if not below_chance(m)]
    if not previous:
        raise NoPreviousModel(details={"name": name})
    now = clock.now()
    active.status, active.retired_at = MLModel.Status.RETIRED, now
    touch(active, "status", "retired_at", now=now)
    emit(ModelRegistryEvent.MODEL_RETIRED, active, previous={"status": MLModel.Status.ACTIVE.value}, actor=actor)
    back = previous[0]
    back.status, back.activated_at = MLModel.Status.ACTIVE, now
    touch(back, "status", "activated_at", now=now)
    audit_record(action=ModelRegistryAction.MODEL_ROLLED_BACK, actor=actor, obj=back,
                 details={"replaced": active.id})
    emit(ModelRegistryEvent.MODEL_ACTIVATED, back, previous={"status": MLModel.Status.RETIRED.value}, actor=actor)
    return back


def _lock(model_id: str) -> MLModel:
    return get_by_public_id(MLModel.objects.select_for_update(), model_id, field="model_id", message="No such model.",
                            error=ModelNotFound)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics.get(k) for k in ("auprc", "roc_auc", "recall_at_1pct_fpr", "precision_at_100")
            if k in metrics}
