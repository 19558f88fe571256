"""Churn risk: an XGBoost classifier over subscription features, trained on history and
evaluated on a later period; the at-risk list explains each score by feature contributions.

Time is split so the evaluation never sees the future of its training data: with horizon
H, training samples are taken at cutoffs up to now - 2H (label: churned within the next H),
the evaluation sample at now - H (label: churned by now). Too little history (too few
subscriptions or churners on either side) means no model and no score, said plainly.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import Count, Max, Q

from core import clock
from core.db import use_case
from core.money import format_amount
from payments.models import Payment

from .models import ChurnModel, InvoiceAttempt, Subscription, SubscriptionEvent

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


def _auc(labels, scores) -> float | None:
    positives = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    negatives = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    if not positives or not negatives:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return round(wins / (len(positives) * len(negatives)), 4)


@use_case(steps=True)
def train(*, now: dt.datetime | None = None) -> ChurnModel | None:
    """Trains and stores a model; None (nothing stored) when history is too short. Reads the
    history and trains outside any transaction (seconds of work), then stores the model in one."""
    import xgboost as xgb

    now = now or clock.now()
    eval_cutoff = now - HORIZON
    train_cutoff = now - 2 * HORIZON
    train_samples = []
    for k in range(TRAIN_CUTOFFS):
        train_samples += samples_at(train_cutoff - dt.timedelta(days=30 * k))
    eval_samples = samples_at(eval_cutoff)
    if (len(train_samples) < MIN_SAMPLES or sum(s.label for s in train_samples) < MIN_POSITIVES
            or not eval_samples or sum(s.label for s in eval_samples) < 1):
        return None
    x_train, y_train = _matrix(train_samples)
    booster = xgb.train(PARAMS, xgb.DMatrix(x_train, label=y_train, feature_names=FEATURES), num_boost_round=ROUNDS)
    x_eval, y_eval = _matrix(eval_samples)
    scores = booster.predict(xgb.DMatrix(x_eval, feature_names=FEATURES)).tolist()
    predicted = [1 if s >= 0.5 else 0 for s in scores]
    tp = sum(1 for p, y in zip(predicted, y_eval, strict=True) if p == 1 and y == 1)
    fp = sum(1 for p, y in zip(predicted, y_eval, strict=True) if p == 1 and y == 0)
    fn = sum(1 for p, y in zip(predicted, y_eval, strict=True) if p == 0 and y == 1)
    metrics = {"auc": _auc(list(y_eval), scores), "precision": round(tp / (tp + fp), 4) if tp + fp else None,
               "recall": round(tp / (tp + fn), 4) if tp + fn else None,
               "base_rate": round(float(y_eval.mean()), 4), "train_positives": int(y_train.sum()),
               "eval_positives": int(y_eval.sum())}
    raw = booster.save_raw("json").decode()
    return _store(version=f"churn-{now:%Y%m%d%H%M%S}", trained_at=now, train_cutoff=train_cutoff,
                  eval_cutoff=eval_cutoff, n_train=len(train_samples), n_eval=len(eval_samples), metrics=metrics,
                  features=FEATURES, booster=raw)


@use_case
def _store(**fields) -> ChurnModel:
    return ChurnModel.objects.create(**fields)


def at_risk(*, limit: int = 20, now: dt.datetime | None = None) -> dict:
    """Currently paying subscriptions by churn risk, with each score's top reasons."""
    import xgboost as xgb

    model = ChurnModel.objects.order_by("-trained_at", "-id").first()
    if model is None:
        return {"status": "insufficient_history", "model": None, "subscriptions": [],
                "message": "Not enough subscription history to train a churn model; no scores are shown."}
    booster = xgb.Booster()
    booster.load_model(bytearray(model.booster.encode()))
    samples = samples_at(now or clock.now(), labelled=False)
    if not samples:
        return {"status": "ok", "model": _model_info(model), "subscriptions": []}
    x, _ = _matrix(samples)
    matrix = xgb.DMatrix(x, feature_names=model.features)
    scores = booster.predict(matrix).tolist()
    contributions = booster.predict(matrix, pred_contribs=True).tolist()
    rows = []
    for sample, score, contrib in zip(samples, scores, contributions, strict=True):
        reasons = sorted((_reason(name, value, c, sample.currency)
                          for name, value, c in zip(model.features, sample.features, contrib, strict=False)
                          if c > 0), key=lambda r: -r["contribution"])[:3]
        rows.append({"subscription_id": sample.subscription_id, "customer_id": sample.customer_id,
                     "score": round(score, 4), "reasons": reasons})
    rows.sort(key=lambda r: (-r["score"], r["subscription_id"]))
    return {"status": "ok", "model": _model_info(model), "subscriptions": rows[:limit]}


def _reason(feature: str, value, contribution: float, currency: str) -> dict:
    if feature in MONEY_FEATURES and currency:
        return {"feature": feature, "value": format_amount(int(value), currency), "currency": currency,
                "contribution": round(contribution, 4)}
    return {"feature": feature, "value": value, "contribution": round(contribution, 4)}


def _model_info(model: ChurnModel) -> dict:
    return {"version": model.version, "trained_at": clock.isoformat(model.trained_at), "n_train": model.n_train,
            "n_eval": model.n_eval, "metrics": model.metrics}


def dumps(result: dict) -> str:
    return json.dumps(result, indent=2, default=str)
