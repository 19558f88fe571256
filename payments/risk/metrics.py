"""Fraud metrics as practitioners report them (docs/RISK.md): AUPRC, ROC-AUC, recall at 1% false positives,
precision among each day's 100 highest scores, and recall per scenario at the 1%-FPR threshold.

Only rows with a label count. Ties are handled conservatively: a row is flagged only when its score is
strictly above the threshold, so a scorer with few distinct scores (rules) never gets more than 1% false
positives; in the top 100 of a day, ties keep time order.
"""

from __future__ import annotations

import numpy as np

from .features import DAY


def average_precision(y: np.ndarray, s: np.ndarray) -> float | None:
    """Area under the precision-recall curve, step-wise, with tied scores taken as one threshold."""
    positives = int(y.sum())
    if positives == 0:
        return None
    order = np.argsort(-s, kind="stable")
    ys, ss = y[order], s[order]
    tp = np.cumsum(ys)
    last_of_tie = np.r_[ss[1:] != ss[:-1], True]
    tp, k = tp[last_of_tie], np.flatnonzero(last_of_tie) + 1
    recall_step = np.diff(np.r_[0.0, tp]) / positives
    return float(np.sum(recall_step * tp / k))


def roc_auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """Mann-Whitney: the chance a fraud scores above a legitimate row (ties count half)."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return None
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts
    ranks = (starts + (counts + 1) / 2)[inverse]
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def fpr_threshold(y: np.ndarray, s: np.ndarray, fpr: float = 0.01) -> float:
    """The lowest threshold with at most `fpr` of legitimate rows strictly above it."""
    neg = np.sort(s[y == 0])[::-1]
    if len(neg) == 0:
        return -np.inf
    allowed = int(np.floor(fpr * len(neg)))
    return float(neg[min(allowed, len(neg) - 1)])


def precision_at_k_per_day(y: np.ndarray, s: np.ndarray, ts: np.ndarray, k: int = 100) -> float | None:
    days = ts // DAY
    values = []
    for day in np.unique(days):
        idx = np.flatnonzero(days == day)
        top = idx[np.argsort(-s[idx], kind="stable")[:k]]
        values.append(y[top].mean())
    return float(np.mean(values)) if values else None


def evaluate(frame: dict[str, np.ndarray], scores: np.ndarray) -> dict:
    """The metrics of the issue for one scorer over the labelled rows of a frame."""
    labelled = ~np.isnan(frame["label"])
    y, s = frame["label"][labelled].astype(np.int8), scores[labelled].astype(np.float64)
    ts, scenario = frame["ts"][labelled], frame["scenario"][labelled]
    threshold = fpr_threshold(y, s)
    flagged = s > threshold
    fraud = y == 1
    per_scenario = {}
    for name in sorted(set(scenario[fraud]) - {""}):
        rows = fraud & (scenario == name)
        per_scenario[name] = {"recall": _round(flagged[rows].mean()), "frauds": int(rows.sum())}
    return {
        "auprc": _round(average_precision(y, s)),
        "roc_auc": _round(roc_auc(y, s)),
        "recall_at_1pct_fpr": _round(flagged[fraud].mean()) if fraud.any() else None,
        "precision_at_100": _round(precision_at_k_per_day(y, s, ts)),
        "per_scenario_recall": {name: v["recall"] for name, v in per_scenario.items()},
        "frauds_per_scenario": {name: v["frauds"] for name, v in per_scenario.items()},
        "threshold_at_1pct_fpr": _round(threshold if np.isfinite(threshold) else None),
        "rows": int(labelled.sum()),
        "frauds": int(fraud.sum()),
        "base_rate": _round(fraud.mean()) if len(y) else None,
    }


def _round(value, places: int = 4):
    return None if value is None else round(float(value), places)
