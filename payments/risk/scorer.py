"""The model scorer behind `PAYMENTS_RISK_SCORER` ("payments.risk.scorer.model_scorer").

The active fraud model is loaded once per process (and again only when another model becomes active:
which one is active is cached in `core.snapshots`, made stale when a model row is saved), with one
thread, and warmed up. A payment's features come
from stored payments (online.py), the score is `inplace_predict`'s probability in percent (0-100), the
level and decision come from the staff-editable thresholds, and the explanation from `pred_contribs`.
Without an active model, or for a customer who is not active, the rule set decides, as before.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np

from core.models import MLModel

from . import RiskContext, RiskResult, rules_scorer
from .caches import ACTIVE
from .explain import explain
from .model import NAME, from_bytes
from .online import features_for
from .thresholds import decide

_lock = threading.Lock()
_loaded: dict = {"id": None}


def _active_row() -> tuple:
    # () when none is active: kept in the cache too (None would not be), so no model costs no query.
    row = MLModel.objects.filter(name=NAME, status=MLModel.Status.ACTIVE).values_list("id", "version").first()
    return tuple(row) if row else ()


def active_model() -> dict | None:
    """The process's copy of the active model: id, version, features, booster (None when none is active)."""
    row = ACTIVE.get(NAME, _active_row)
    if not row:
        return None
    if _loaded["id"] != row[0]:
        with _lock:
            if _loaded["id"] != row[0]:
                model = MLModel.objects.get(pk=row[0])
                booster = from_bytes(model.artifact, nthread=1)
                booster.inplace_predict(np.zeros((1, len(model.features)), dtype=np.float32))  # warm-up
                _loaded.clear()
                _loaded.update(id=model.id, version=model.version, features=list(model.features), booster=booster)
    return dict(_loaded)


def model_scorer(ctx: RiskContext) -> RiskResult:
    """The model's verdict (or the rule set's without a model), then the staff rules: a rule that fires
    can only make the decision stricter (review, block), never looser."""
    if ctx.customer_status != "active":
        return rules_scorer(ctx)
    loaded = active_model()
    if loaded is None:
        return _with_staff_rules(rules_scorer(ctx), None, ctx)
    return _with_staff_rules(*_model_result(ctx, loaded), ctx)


def _with_staff_rules(result: RiskResult, values: dict | None, ctx: RiskContext) -> RiskResult:
    from .rules import fired_rules

    fired = fired_rules(ctx, values, card_fingerprint=ctx.payment_method)
    if not fired:
        return result
    decision, level = result.decision, result.level
    if any(rule.action == "block" for rule in fired):
        decision, level = "block", "highest"
    elif decision == "allow":
        decision, level = "review", "elevated"
    return replace(result, decision=decision, level=level, rules_fired=[rule.name for rule in fired])


def _model_result(ctx: RiskContext, loaded: dict) -> tuple[RiskResult, dict]:
    values = features_for(ctx)
    X = np.array([[values[name] for name in loaded["features"]]], dtype=np.float32)
    probability = float(loaded["booster"].inplace_predict(X, validate_features=False)[0])
    score = int(round(probability * 100))
    level, decision = decide(score)
    explanation = explain(loaded["booster"], X, loaded["features"], values)
    result = RiskResult(score=score, level=level, decision=decision, model_version=loaded["version"],
                        reasons=[item["feature"] for item in explanation], explanation=explanation,
                        probability=round(probability, 6))
    return result, values
