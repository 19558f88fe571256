"""Churn risk: an XGBoost classifier over subscription features, trained on history and
evaluated on a later period; the at-risk list explains each score by feature contributions.

Time is split so the evaluation never sees the future of its training data: with horizon
H, training samples are taken at cutoffs up to now - 2H (label: churned within the next H),
the evaluation sample at now - H (label: churned by now). Too little history (too few
subscriptions or churners on either side) means no model and no score, said plainly.

Models live in the shared registry (core.ml.registry, name "churn"): a trained model is registered
as a candidate, then the registry's promotion rule decides whether it becomes the active one (better
than chance, better than the baseline, not worse than the active model measured on the same
evaluation sample). Scores come from the active model only. There are no churn rules, so the
baseline is the prior: every subscription scored at the base rate (AUPRC = base rate, ROC-AUC 0.5).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q

from core import clock
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.ml import registry
from core.ml.events import ModelRegistryEvent
from core.models import MLModel
from core.money import format_amount
from core.outbox import enqueue
from payments.models import Payment

from .models import ChurnScore, InvoiceAttempt, Subscription, SubscriptionEvent
from .services.common import PAYING

NAME = "churn"
FORMAT = "xgboost-json"

FEATURES = ["tenure_days", "failed_payments", "downgrades", "monthly_price", "days_since_last_payment",
            "wallet_activity_90d"]
HORIZON = dt.timedelta(days=60)
TRAIN_CUTOFFS = 4  # at now - 2H, and every 30 days before it
MIN_SAMPLES, MIN_POSITIVES = 40, 3
CHURNED = ("canceled", "unpaid", "incomplete_expired")
PARAMS = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.2, "subsample": 1.0, "seed": 7, "nthread": 1,
          "eval_metric": "logloss"}
ROUNDS = 40


# Features that are amounts (minor units of the sample's currency): explained to people as money.
MONEY_FEATURES = {"monthly_price"}


@dataclass
class Sample:
    subscription_id: str
    customer_id: str
    features: list[float]
    label: int
    currency: str = ""


def _history_at(moment: dt.datetime) -> tuple[dict[str, SubscriptionEvent], dict[str, int]]:
    """From one pass over the events up to `moment`: each paying subscription's latest event, and
    per subscription the changes that lowered its MRR (downgrades)."""
    latest: dict[str, SubscriptionEvent] = {}
    downgrades: dict[str, int] = {}
    for event in SubscriptionEvent.objects.filter(at__lte=moment).order_by("at", "id"):
        prior = latest.get(event.subscription_id)
        if event.kind == "changed" and prior is not None and event.mrr < prior.mrr:
            downgrades[event.subscription_id] = downgrades.get(event.subscription_id, 0) + 1
        latest[event.subscription_id] = event
    return {sid: e for sid, e in latest.items() if e.mrr > 0}, downgrades


def samples_at(moment: dt.datetime, *, labelled: bool = True) -> list[Sample]:
    paying, downgrades = _history_at(moment)
    if not paying:
        return []
    ids = list(paying)
    subs = {s.id: s for s in Subscription.objects.filter(pk__in=ids)}
    failed = dict(InvoiceAttempt.objects.filter(invoice__subscription_id__in=ids, status="failed", settled__lte=moment)
                  .values_list("invoice__subscription_id").annotate(n=Count("id")))
    last_paid = dict(InvoiceAttempt.objects.filter(invoice__subscription_id__in=ids, status="succeeded",
                                                   settled__lte=moment)
                     .values_list("invoice__subscription_id").annotate(at=Max("settled")))
    customers = {e.customer_id for e in paying.values()}
    wallet = dict(Payment.objects.filter(customer_id__in=customers, created__lte=moment,
                                         created__gt=moment - dt.timedelta(days=90))
                  .filter(Q(method="wallet") | ~Q(wallet_id=""))
                  .values_list("customer_id").annotate(n=Count("id")))
    churned = set()
    if labelled:
        churned = set(SubscriptionEvent.objects.filter(subscription_id__in=ids, at__gt=moment,
                                                       at__lte=moment + HORIZON, status__in=CHURNED)
                      .values_list("subscription_id", flat=True))
    out = []
    for sid, event in sorted(paying.items()):
        sub = subs[sid]
        tenure = (moment - sub.created).total_seconds() / 86400
        since = (moment - last_paid[sid]).total_seconds() / 86400 if sid in last_paid else tenure
        out.append(Sample(sid, event.customer_id, [
            round(tenure, 3), failed.get(sid, 0), downgrades.get(sid, 0), event.mrr, round(since, 3),
            wallet.get(event.customer_id, 0)], int(sid in churned), event.currency))
    return out


def _matrix(samples):
    import numpy as np

    return np.array([s.features for s in samples], dtype=float), np.array([s.label for s in samples], dtype=float)


def _metrics(labels: list[float], scores: list[float]) -> dict[str, Any]:
    import numpy as np

    from payments.risk.metrics import average_precision, roc_auc

    y, s = np.array(labels, dtype=float), np.array(scores, dtype=float)
    auc, ap = roc_auc(y, s), average_precision(y, s)
    predicted = [1 if s >= 0.5 else 0 for s in scores]
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p == 1 and y == 1)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p == 1 and y == 0)
    fn = sum(1 for p, y in zip(predicted, labels, strict=True) if p == 0 and y == 1)
    return {"roc_auc": None if auc is None else round(auc, 4), "auprc": None if ap is None else round(ap, 4),
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None}


def _fingerprint(samples: list[Sample], moment: dt.datetime | None = None) -> str:
    digest = hashlib.sha256((clock.isoformat(moment) or "").encode() if moment else b"")
    for s in samples:
        digest.update(json.dumps([s.subscription_id, s.features, s.label]).encode())
    return digest.hexdigest()


def _load(model: MLModel):
    import xgboost as xgb

    booster = xgb.Booster(params={"nthread": 1})
    booster.load_model(bytearray(bytes(model.artifact)))
    return booster


def _scores(booster, samples: list[Sample], features: list[str]) -> list[float]:
    import xgboost as xgb

    x, _ = _matrix(samples)
    columns = [FEATURES.index(name) for name in features]
    return booster.predict(xgb.DMatrix(x[:, columns], feature_names=features)).tolist()


@use_case(steps=True)
def train(*, now: dt.datetime | None = None, actor: Actor | None = None, activate: bool = True) -> MLModel | None:
    """Trains a model and registers it as a candidate in the registry, then (with `activate`) applies the
    promotion rule on the evaluation sample; None (nothing registered) when history is too short. Reads
    the history and trains outside any transaction (seconds of work); registering and promoting are
    transactions of the registry's."""
    import xgboost as xgb

    actor = actor or Actor.system("churn training")
    now = now or clock.now()
    eval_cutoff = now - HORIZON
    train_cutoff = now - 2 * HORIZON
    cutoffs = [train_cutoff - dt.timedelta(days=30 * k) for k in range(TRAIN_CUTOFFS)]
    train_samples = []
    for cutoff in cutoffs:
        train_samples += samples_at(cutoff)
    eval_samples = samples_at(eval_cutoff)
    if (len(train_samples) < MIN_SAMPLES or sum(s.label for s in train_samples) < MIN_POSITIVES
            or not eval_samples or sum(s.label for s in eval_samples) < 1):
        return None
    x_train, y_train = _matrix(train_samples)
    booster = xgb.train(PARAMS, xgb.DMatrix(x_train, label=y_train, feature_names=FEATURES), num_boost_round=ROUNDS)
    labels = [float(s.label) for s in eval_samples]
    base_rate = round(sum(labels) / len(labels), 4)
    metrics: dict[str, Any] = {
        **_metrics(labels, _scores(booster, eval_samples, FEATURES)), "base_rate": base_rate,
        "train_positives": int(y_train.sum()), "eval_positives": int(sum(labels)),
        "n_train": len(train_samples), "n_eval": len(eval_samples),
        # The baseline without a model: every subscription at the base rate.
        "rules_baseline": {"roc_auc": 0.5, "auprc": base_rate, "kind": "prior"}}
    model = registry.model_register(
        actor=actor, name=NAME, version=registry.new_version(NAME, now),
        features=list(FEATURES), artifact=bytes(booster.save_raw("json")), artifact_format=FORMAT,
        data_fingerprint=_fingerprint(train_samples), metrics=metrics,
        params={**PARAMS, "rounds": ROUNDS, "horizon_days": HORIZON.days,
                "train_cutoffs": [clock.isoformat(c) for c in cutoffs], "eval_cutoff": clock.isoformat(eval_cutoff)},
        eval_fingerprint=_fingerprint(eval_samples, eval_cutoff), window_start=min(cutoffs), window_end=train_cutoff)
    if activate:
        promote(actor=actor, model=model, eval_samples=eval_samples)
        model.refresh_from_db()
    return model


def promote(*, actor: Actor, model: MLModel, eval_samples: list[Sample]) -> tuple[bool, str]:
    """The registry's promotion rule, with the active model measured just now on the candidate's
    evaluation sample (the same set for both)."""
    active = registry.model_active(NAME)
    evaluation: dict[str, Any] = {"candidate": model.metrics, "baseline": model.metrics["rules_baseline"],
                                  "active": None, "active_model_id": None}
    if active is not None:
        labels = [float(s.label) for s in eval_samples]
        evaluation["active"] = _metrics(labels, _scores(_load(active), eval_samples, active.features))
        evaluation["active_model_id"] = active.id
    _, promoted, reason = registry.model_promote(actor=actor, model_id=model.id, evaluation=evaluation)
    return promoted, reason


def _active_model() -> MLModel | None:
    """The active churn model without its artifact (the stored scores' readers never load the booster)."""
    return registry.model_list(NAME).filter(status=MLModel.Status.ACTIVE).first()


def _without_active_model() -> dict:
    """The answer when no churn model is active: why, with the latest model if any."""
    latest = MLModel.objects.filter(name=NAME).order_by("-created", "-id").first()
    if latest is None:
        return {"status": "insufficient_history", "model": None, "subscriptions": [], "warnings": [],
                "message": "Not enough subscription history to train a churn model; no scores are shown."}
    # The reason is in the message alone, not repeated as a warning: every page shows both.
    reason = (latest.promotion or {}).get("reason", "the promotion rule has not been applied")
    return {"status": "no_active_model", "model": _model_info(latest), "subscriptions": [],
            "warnings": _warnings(latest),
            "message": f"No churn model is active, so no scores are shown: the latest, {latest.version}, is a "
                       f"{latest.status} ({reason})."}


def _scored_rows(model: MLModel, now: dt.datetime) -> list[dict]:
    """Every subscription paying at `now`, scored by `model`, riskiest first, each with its top reasons."""
    import xgboost as xgb

    samples = samples_at(now, labelled=False)
    if not samples:
        return []
    x, _ = _matrix(samples)
    columns = [FEATURES.index(name) for name in model.features]
    matrix = xgb.DMatrix(x[:, columns], feature_names=model.features)
    booster = _load(model)
    scores = booster.predict(matrix).tolist()
    contributions = booster.predict(matrix, pred_contribs=True).tolist()
    rows = []
    for sample, score, contrib in zip(samples, scores, contributions, strict=True):
        values = [sample.features[i] for i in columns]
        reasons = sorted((_reason(name, value, c, sample.currency)
                          for name, value, c in zip(model.features, values, contrib, strict=False)
                          if c > 0), key=lambda r: -r["contribution"])[:3]
        rows.append({"subscription_id": sample.subscription_id, "customer_id": sample.customer_id,
                     "currency": sample.currency, "score": round(score, 4), "reasons": reasons})
    rows.sort(key=lambda r: (-r["score"], r["subscription_id"]))
    return rows


def at_risk(*, limit: int = 20, now: dt.datetime | None = None) -> dict:
    """Subscriptions paying at `now` by churn risk, with each score's top reasons, from the active churn model
    of the registry, scored now (the whole paying base: seconds at a hundred thousand subscriptions; the
    at-risk lists read `stored_at_risk`). Without an active model, no scores: the latest candidate is shown
    with the reason."""
    model = registry.model_active(NAME)
    if model is None:
        return _without_active_model()
    rows = _scored_rows(model, now or clock.now())
    return {"status": "ok", "model": _model_info(model), "subscriptions": rows[:limit], "warnings": _warnings(model)}


def _store_scores(model: MLModel | None, rows: list[dict], now: dt.datetime) -> int:
    """Replaces the stored scores with `rows` (one transaction: a reader sees the old set or the new one), unless
    another model became active while they were scored: that one's scores (stored by the training that activated
    it) are kept. Returns the rows stored."""
    def store() -> int:
        active = MLModel.objects.select_for_update().filter(name=NAME, status=MLModel.Status.ACTIVE).values_list(
            "id", flat=True).first()
        if active != (model.id if model else None):
            return 0
        ChurnScore.objects.all().delete()
        ChurnScore.objects.bulk_create(
            [ChurnScore(model=model, subscription_id=r["subscription_id"], customer_id=r["customer_id"],
                        currency=r["currency"], score=r["score"], reasons=r["reasons"], scored_at=now)
             for r in rows], batch_size=2000)
        return len(rows)

    return run_in_transaction(store)


def score_paying(*, now: dt.datetime | None = None) -> int:
    """Scores every paying subscription with the active churn model and stores the scores (replacing the
    previous ones, whatever model made them); 0 stored (and the old ones removed) without an active model.
    Reads and scores outside any transaction (seconds of work), stores in one. Derived data: not audited."""
    now = now or clock.now()
    model = registry.model_active(NAME)
    return _store_scores(model, [] if model is None else _scored_rows(model, now), now)


def score_on_activation(events: list[Any]) -> None:
    """core.events subscriber (in the relay, after the change committed): when a churn model becomes active
    (a training promoted it, staff promoted or rolled back to it), the scoring job runs at once instead of at
    its next hourly turn, so the at-risk lists are not left without scores for up to an hour."""
    if any(e.type == ModelRegistryEvent.MODEL_ACTIVATED and e.data["object"].get("name") == NAME for e in events):
        from .tasks import CHURN_SCORES_TASK_NAME

        enqueue(CHURN_SCORES_TASK_NAME)


def stored_at_risk(*, limit: int = 20, currency: str | None = None) -> dict:
    """The riskiest stored scores of the active churn model (`score_paying`) among subscriptions still paying,
    in `currency` when given; said plainly when the active model has none stored yet."""
    model = _active_model()
    if model is None:
        return _without_active_model()
    info = {"model": _model_info(model), "warnings": _warnings(model)}
    stored = ChurnScore.objects.filter(model=model)
    listed = stored.filter(subscription__status__in=PAYING, **({"currency": currency} if currency else {}))
    fields = ("subscription_id", "customer_id", "currency", "score", "reasons")
    rows = list(listed.order_by("-score", "subscription_id").values(*fields, "scored_at")[:limit])
    scored_at = rows[0]["scored_at"] if rows else stored.values_list("scored_at", flat=True).first()
    if scored_at is None:
        return {"status": "not_scored", "subscriptions": [], **info,
                "message": f"The active churn model {model.version} has scored nothing yet: the scoring job "
                           f"(subscriptions.score_churn, queued when it became active, then hourly) stores its "
                           f"scores."}
    return {"status": "ok", "subscriptions": [{k: r[k] for k in fields} for r in rows], "scored_at": scored_at,
            **info}


def _warnings(model: MLModel) -> list[str]:
    out = []
    if registry.below_chance(model):
        out.append(f"Model {model.version} ranks worse than chance (ROC-AUC {model.metrics.get('roc_auc')}, "
                   "at most 0.5): it is never made active.")
    return out


def _reason(feature: str, value, contribution: float, currency: str) -> dict:
    if feature in MONEY_FEATURES and currency:
        return {"feature": feature, "value": format_amount(int(value), currency), "currency": currency,
                "contribution": round(contribution, 4)}
    return {"feature": feature, "value": value, "contribution": round(contribution, 4)}


def _model_info(model: MLModel) -> dict:
    metrics = model.metrics or {}
    return {"id": model.id, "version": model.version, "status": model.status,
            "trained_at": clock.isoformat(model.created), "n_train": metrics.get("n_train"),
            "n_eval": metrics.get("n_eval"), "metrics": metrics}


def dumps(result: dict) -> str:
    return json.dumps(result, indent=2, default=str)
