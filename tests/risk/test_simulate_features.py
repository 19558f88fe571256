import datetime as dt
import json

import numpy as np
import pytest
from django.core.management import call_command

from payments.risk.dataset import DatasetError, rows_to_frame, take
from payments.risk.features import FEATURES, LABEL_DELAY, feature_matrix
from payments.risk.metrics import average_precision, evaluate, roc_auc
from payments.risk.simulate import SCENARIOS, simulate


def test_simulator_is_deterministic_for_a_seed(tmp_path, small_rows):
    again = simulate(customers=80, days=90, seed=11, start=dt.date(2025, 1, 1))
    assert again == small_rows
    other = simulate(customers=80, days=90, seed=12, start=dt.date(2025, 1, 1))
    assert other != small_rows
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (a, b):
        call_command("fraud_simulate", out=str(path), customers=30, days=20, seed=5, start="2026-02-01",
                     stdout=open(tmp_path / "log", "w"))
    assert a.read_bytes() == b.read_bytes()
    first = json.loads(a.read_text().splitlines()[0])
    assert first["timestamp"].startswith("2026-02-01T")
    assert set(first) >= {"id", "customer_id", "timestamp", "amount", "currency", "method", "merchant_id",
                          "device_id", "ip_country", "card_country", "channel", "is_fraud"}


def test_every_scenario_is_injected_and_named(small_rows):
    named = {row["scenario"] for row in small_rows if row.get("scenario")}
    assert named == set(SCENARIOS)
    assert all(row["is_fraud"] == bool(row.get("scenario")) for row in small_rows)
    assert [row["timestamp"] for row in small_rows] == sorted(row["timestamp"] for row in small_rows)


def test_features_use_only_earlier_rows(small_frame):
    """Cutting the future off, or rewriting it, changes no feature of an earlier row."""
    X = feature_matrix(small_frame)
    cut = int(np.quantile(small_frame["ts"], 0.6))
    past = small_frame["ts"] < cut
    X_past = feature_matrix(take(small_frame, past))
    np.testing.assert_array_equal(X_past, X[past])
    rewritten = {k: v.copy() for k, v in small_frame.items()}
    future = ~past
    rewritten["amount"][future] *= 7
    rewritten["device"][future] = "dev_new"
    rewritten["label"][future] = 1 - rewritten["label"][future]
    np.testing.assert_array_equal(feature_matrix(rewritten)[past], X[past])


def test_a_label_counts_only_after_the_label_delay(small_frame):
    """A row's own label, and any label younger than the delay, leaves the merchant fraud rate alone."""
    X = feature_matrix(small_frame)
    col = FEATURES.index("merchant_fraud_rate")
    j = int(np.flatnonzero(small_frame["merchant"] != "")[len(small_frame["ts"]) // 3])
    flipped = {k: v.copy() for k, v in small_frame.items()}
    flipped["label"][j] = 1 - flipped["label"][j]
    X2 = feature_matrix(flipped)
    changed = np.flatnonzero(~np.isclose(X2[:, col], X[:, col], rtol=0, atol=0, equal_nan=True))
    assert len(changed) > 0
    assert small_frame["ts"][changed].min() >= small_frame["ts"][j] + LABEL_DELAY
    assert set(small_frame["merchant"][changed]) == {small_frame["merchant"][j]}
    others = [i for i in range(len(FEATURES)) if i != col]
    np.testing.assert_array_equal(X2[:, others], X[:, others])


def test_velocity_features_count_the_last_hour():
    rows = [{"id": f"t{i}", "customer_id": "c1", "timestamp": f"2025-03-01T10:{i * 10:02d}:00Z", "amount": "5.00",
             "currency": "USD", "device_id": "d1" if i < 4 else "d2", "colour": "ignored"} for i in range(6)]
    frame = rows_to_frame(rows)
    X = feature_matrix(frame)
    count_1h = X[:, FEATURES.index("count_1h")]
    assert count_1h.tolist() == [0, 1, 2, 3, 4, 5]
    assert X[:, FEATURES.index("new_device")].tolist() == [1, 0, 0, 0, 1, 0]
    assert np.isnan(X[:, FEATURES.index("method")]).all()  # unknown method: missing, not an error
    assert [round(float(v), 4) for v in X[1:, FEATURES.index("hours_since_prev")]] == [0.1667] * 5


def test_unseen_categories_are_handled_and_bad_rows_name_their_line():
    frame = rows_to_frame([{"id": "t", "customer_id": "c", "timestamp": "2025-01-01T00:00:00+02:00",
                            "amount": "1.5", "currency": "usd", "method": "crypto", "channel": "kiosk"}])
    X = feature_matrix(frame)
    assert X[0, FEATURES.index("method")] == 5 and X[0, FEATURES.index("channel")] == 4
    with pytest.raises(DatasetError) as err:
        rows_to_frame([{"id": "t", "customer_id": "c", "timestamp": "2025-01-01T00:00:00Z", "amount": "1"},
                       {"id": "u", "customer_id": "c", "timestamp": "2025-01-01T00:00:00Z"}])
    assert err.value.details == {"fields": {"fields": ["Line 1: missing currency."]}}
    with pytest.raises(DatasetError) as err:
        rows_to_frame([{"id": "t", "customer_id": "c", "timestamp": "2025-01-01", "amount": "1e3",
                        "currency": "USD"}])
    assert err.value.details == {"fields": {"amount": ["Line 1: amount must be a plain decimal string."]}}


def test_metrics_on_a_worked_example():
    y, s = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])
    assert round(average_precision(y, s), 4) == 0.8333
    assert roc_auc(y, s) == 0.75
    assert roc_auc(y, np.zeros(4)) == 0.5
    frame = {"label": np.array([1.0, 0, 1, 0, np.nan]), "ts": np.zeros(5, dtype=np.int64),
             "scenario": np.array(["a", "", "b", "", ""], dtype=object)}
    m = evaluate(frame, np.array([0.9, 0.8, 0.7, 0.1, 0.99]))
    assert m["rows"] == 4 and m["frauds"] == 2
    # 1% of 2 legitimate rows is 0 false positives: the threshold is the top legitimate score.
    assert m["threshold_at_1pct_fpr"] == 0.8 and m["recall_at_1pct_fpr"] == 0.5
    assert m["per_scenario_recall"] == {"a": 1.0, "b": 0.0}
    assert m["precision_at_100"] == 0.5
