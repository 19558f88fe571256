"""Training and scoring the XGBoost fraud model, and its place in the core model registry.

Split by time with a label delay: the last `test_fraction` of the file's time span is the test set;
training uses only rows whose label would be known at the test set's start (older than the delay),
so a week of rows between the two is used by neither. Features of every row come from earlier rows
only (features.py), with merchant fraud labels counted once they are `LABEL_DELAY` old.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from core import clock
from core.context import Actor
from core.ml import registry
from core.models import MLModel

from .baseline import rules_scores
from .features import FEATURES, LABEL_DELAY, feature_matrix
from .metrics import evaluate

NAME = "fraud"
FORMAT = "xgboost-ubj"
ROUNDS = 200
# Legitimate rows are many and alike: a fixed quarter of them (weighted 4) trains as well, four times faster.
NEGATIVE_SHARE = 0.25
SEED = 7
PARAMS = {"objective": "binary:logistic", "eval_metric": "aucpr", "tree_method": "hist", "max_depth": 6,
          "eta": 0.1, "subsample": 0.8, "colsample_bytree": 0.8, "min_child_weight": 2, "max_bin": 128,
          "seed": SEED, "nthread": 2}


@dataclass
class Trained:
    booster: xgb.Booster
    metrics: dict
    window: tuple[dt.datetime, dt.datetime]
    eval_fingerprint: str
    test_mask: np.ndarray
    X: np.ndarray
    frame: dict
    rounds: int = ROUNDS


def time_split(frame: dict, test_fraction: float = 0.25, delay: int = LABEL_DELAY):
    ts = frame["ts"]
    cutoff = int(ts.min() + (ts.max() - ts.min()) * (1 - test_fraction))
    labelled = ~np.isnan(frame["label"])
    return labelled & (ts < cutoff - delay), ts >= cutoff, cutoff


def fit(X: np.ndarray, y: np.ndarray, params: dict | None = None, rounds: int = ROUNDS) -> xgb.Booster:
    keep = (y == 1) | (np.random.default_rng(SEED).random(len(y)) < NEGATIVE_SHARE)
    weight = np.where(y[keep] == 1, 1.0, 1 / NEGATIVE_SHARE)
    dtrain = xgb.DMatrix(X[keep], label=y[keep], weight=weight, feature_names=list(FEATURES), nthread=2)
    return xgb.train(params or PARAMS, dtrain, num_boost_round=rounds)


def predict(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    return booster.inplace_predict(np.ascontiguousarray(X, dtype=np.float32), validate_features=False)


def to_bytes(booster: xgb.Booster) -> bytes:
    return bytes(booster.save_raw("ubj"))


def from_bytes(data: bytes | memoryview, nthread: int = 1) -> xgb.Booster:
    booster = xgb.Booster(params={"nthread": nthread})
    booster.load_model(bytearray(data))
    return booster


def train(frame: dict, *, hold_out: str = "", test_fraction: float = 0.25, rounds: int = ROUNDS) -> Trained:
    """Trains on the early part of the frame and measures on the late part, beside the rules baseline.
    `hold_out` names a scenario whose fraud rows are kept out of training (its recall is then reported)."""
    X = feature_matrix(frame)
    train_mask, test_mask, cutoff = time_split(frame, test_fraction)
    if hold_out:
        train_mask &= frame["scenario"] != hold_out
    y = frame["label"][train_mask]
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("The training window needs both fraud and legitimate labelled rows.")
    booster = fit(X[train_mask], y, rounds=rounds)
    metrics = _measure(booster, frame, X, test_mask)
    metrics["hold_out"] = hold_out or None
    metrics["split"] = {"train_rows": int(train_mask.sum()), "test_rows": int(test_mask.sum()),
                        "test_from": clock.isoformat(_dt(cutoff)), "label_delay_days": LABEL_DELAY // 86_400_000}
    ids_digest = hashlib.sha256("\n".join(frame["id"][test_mask]).encode()).hexdigest()
    train_ts = frame["ts"][train_mask]
    return Trained(booster, metrics, (_dt(train_ts.min()), _dt(train_ts.max())), ids_digest, test_mask, X, frame,
                   rounds)


def _measure(booster, frame, X, mask) -> dict:
    from .dataset import take

    part = take(frame, mask)
    metrics = evaluate(part, predict(booster, X[mask]))
    metrics["rules_baseline"] = evaluate(part, rules_scores(part))
    return metrics


def evaluate_booster(booster: xgb.Booster, features: list[str], frame: dict, X: np.ndarray | None = None,
                     mask: np.ndarray | None = None) -> dict:
    """Metrics of a stored model (by its own feature list) over a frame's rows, beside the rules."""
    X = feature_matrix(frame) if X is None else X
    mask = np.ones(len(frame["ts"]), dtype=bool) if mask is None else mask
    columns = [FEATURES.index(name) for name in features]
    return _measure(booster, frame, np.ascontiguousarray(X[:, columns]), mask)


def register(*, actor: Actor, trained: Trained, data_fingerprint: str, activate: bool) -> dict:
    """Registers the candidate and, when asked, applies the promotion rule on the same test rows."""
    start, end = trained.window
    model = registry.model_register(
        actor=actor, name=NAME, version=registry.new_version(NAME, clock.now()),
        features=list(FEATURES), artifact=to_bytes(trained.booster), artifact_format=FORMAT,
        data_fingerprint=data_fingerprint, metrics=trained.metrics,
        params={**PARAMS, "rounds": trained.rounds, "negative_share": NEGATIVE_SHARE},
        eval_fingerprint=trained.eval_fingerprint, window_start=start, window_end=end)
    out = {"model_id": model.id, "version": model.version, "metrics": trained.metrics}
    if activate:
        active = registry.model_active(NAME)
        evaluation = {"candidate": trained.metrics, "baseline": trained.metrics["rules_baseline"],
                      "active": None, "active_model_id": None}
        if active is not None:
            evaluation["active_model_id"] = active.id
            evaluation["active"] = evaluate_booster(from_bytes(active.artifact, 2), active.features,
                                                    trained.frame, trained.X, trained.test_mask)
        _, promoted, reason = registry.model_promote(actor=actor, model_id=model.id, evaluation=evaluation)
        out.update(activated=promoted, reason=reason)
    return out


def train_file(path: str, *, actor: Actor, activate: bool, hold_out: str = "") -> dict:
    from .dataset import fingerprint, read_jsonl

    frame = read_jsonl(path)
    trained = train(frame, hold_out=hold_out)
    return register(actor=actor, trained=trained, data_fingerprint=fingerprint(path), activate=activate)


def load(model_id: str) -> tuple[MLModel, xgb.Booster]:
    model = registry.model_active(NAME) if model_id == "active" else registry.model_get(model_id)
    if model is None:
        from core.ml.errors import NoActiveModel

        raise NoActiveModel(details={"name": NAME})
    return model, from_bytes(model.artifact, 2)


def _dt(ms) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC)
