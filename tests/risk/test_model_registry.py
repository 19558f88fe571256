import datetime as dt
import json
import re

import numpy as np
import pytest
from django.core.management import call_command

from core.cards import contains_pan
from core.context import Actor
from core.ml import registry
from core.ml.errors import ModelNotComparable
from core.models import AuditEvent, MLModel
from payments.risk import model as fraud_model
from payments.risk.dataset import write_jsonl
from payments.risk.features import FEATURES

ACTOR = Actor.system("tests")


@pytest.fixture(scope="module")
def trained(small_frame):
    return fraud_model.train(small_frame)


def test_training_is_deterministic_and_beats_the_rules(small_frame, trained):
    again = fraud_model.train(small_frame)
    assert fraud_model.to_bytes(again.booster) == fraud_model.to_bytes(trained.booster)
    assert again.metrics == trained.metrics
    m = trained.metrics
    assert m["frauds"] > 0 and m["auprc"] > m["rules_baseline"]["auprc"]
    assert m["roc_auc"] > 0.9
    assert set(m) >= {"auprc", "roc_auc", "recall_at_1pct_fpr", "precision_at_100", "per_scenario_recall",
                      "rules_baseline", "split"}


def test_a_saved_model_loads_and_scores_the_same(db, trained):
    X = trained.X[trained.test_mask]
    before = fraud_model.predict(trained.booster, X)
    loaded = fraud_model.from_bytes(fraud_model.to_bytes(trained.booster))
    np.testing.assert_array_equal(fraud_model.predict(loaded, X), before)
    out = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="f" * 64, activate=True)
    assert out["activated"] is True and out["reason"].endswith("no active model")
    stored, booster = fraud_model.load("active")
    assert stored.id == out["model_id"] and stored.features == list(FEATURES)
    assert stored.window_start < stored.window_end
    np.testing.assert_array_equal(fraud_model.predict(booster, X), before)


def _worse(small_frame):
    """The same data with shuffled labels: a model that learnt nothing."""
    shuffled = {k: v.copy() for k, v in small_frame.items()}
    shuffled["label"] = np.random.default_rng(3).permutation(shuffled["label"])
    bad = fraud_model.train(shuffled)
    return fraud_model.Trained(bad.booster, bad.metrics, bad.window, bad.eval_fingerprint, bad.test_mask, bad.X,
                               small_frame)


def test_a_worse_candidate_stays_a_candidate(db, small_frame, trained):
    good = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="a" * 64, activate=True)
    worse = _worse(small_frame)
    out = fraud_model.register(actor=ACTOR, trained=worse, data_fingerprint="b" * 64, activate=True)
    assert out["activated"] is False
    assert out["reason"].split(":")[0] in ("worse_than_active", "not_better_than_rules", "worse_than_chance")
    statuses = dict(MLModel.objects.values_list("id", "status"))
    assert statuses == {good["model_id"]: "active", out["model_id"]: "candidate"}
    refused = AuditEvent.objects.get(action="ml_model.promotion_refused")
    assert refused.object_id == out["model_id"] and refused.outcome == "failure"
    assert MLModel.objects.get(pk=out["model_id"]).promotion["promoted"] is False


def test_the_promotion_rule():
    base = {"auprc": 0.2, "roc_auc": 0.7}
    assert registry.promotion_decision({"auprc": 0.9, "roc_auc": 0.99}, None, base)[0] is True
    assert registry.promotion_decision({"auprc": 0.9, "roc_auc": 0.99}, {"auprc": 0.9}, base)[0] is True
    ok, reason = registry.promotion_decision({"auprc": 0.89, "roc_auc": 0.99}, {"auprc": 0.9}, base)
    assert (ok, reason) == (False, "worse_than_active: auprc 0.89 < active 0.9")
    ok, reason = registry.promotion_decision({"auprc": 0.2, "roc_auc": 0.99}, None, base)
    assert (ok, reason) == (False, "not_better_than_rules: auprc 0.2 <= rules 0.2")
    ok, reason = registry.promotion_decision({"auprc": 0.9, "roc_auc": 0.36}, None, None)
    assert (ok, reason) == (False, "worse_than_chance: ROC-AUC 0.36 is not above 0.5")


def test_stored_metrics_of_another_evaluation_set_are_not_compared(db, trained):
    first = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="a" * 64, activate=True)
    other = registry.model_register(actor=ACTOR, name="fraud", version="fraud-other", features=["x"],
                                    artifact=b"x", artifact_format="t", data_fingerprint="c" * 64,
                                    params={}, metrics={"auprc": 1.0, "roc_auc": 1.0}, eval_fingerprint="other")
    with pytest.raises(ModelNotComparable):
        registry.model_promote(actor=ACTOR, model_id=other.id)
    assert MLModel.objects.get(pk=first["model_id"]).status == "active"
    assert MLModel.objects.get(pk=other.id).status == "candidate"


def test_rollback_brings_back_the_previous_model(db, trained):
    first = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="a" * 64, activate=True)
    second = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="a" * 64, activate=True)
    assert second["activated"] is True  # equal on the same set: not worse
    assert registry.model_rollback(actor=ACTOR, name="fraud").id == first["model_id"]
    assert dict(MLModel.objects.values_list("id", "status")) == {first["model_id"]: "active",
                                                                 second["model_id"]: "retired"}
    assert list(AuditEvent.objects.filter(action__startswith="ml_model.").order_by("occurred_at", "id")
                .values_list("action", flat=True)).count("ml_model.rolled_back") == 1


def test_train_and_evaluate_commands(db, tmp_path, small_rows, capsys):
    path = tmp_path / "tx.jsonl"
    write_jsonl(small_rows, str(path))
    call_command("fraud_train", input=str(path), activate=True)
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(last) >= {"model_id", "metrics", "activated", "reason"} and last["activated"] is True
    call_command("fraud_evaluate", model="active", input=str(path))
    result = json.loads(capsys.readouterr().out)
    for key in ("auprc", "roc_auc", "recall_at_1pct_fpr", "precision_at_100", "per_scenario_recall"):
        assert key in result and key in result["rules_baseline"]
    assert result["model_id"] == last["model_id"] and result["rows"] == len(small_rows)
    call_command("fraud_evaluate", model=last["model_id"], input=str(path))
    assert json.loads(capsys.readouterr().out)["auprc"] == result["auprc"]


def test_the_demo_trains_and_activates_a_model_once(db):
    import io

    from payments.risk.demo import seed_model

    out = io.StringIO()
    seed_model(stdout=out)
    active = registry.model_active("fraud")
    assert active is not None and "activated" in out.getvalue()
    seed_model(stdout=out)
    assert MLModel.objects.count() == 1 and out.getvalue().endswith(f"{active.version} already active")


def test_registering_promoting_and_rolling_back_are_events(db, trained):
    from core.models import Event

    first = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="e" * 64, activate=True)
    second = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="e" * 64, activate=True)
    registry.model_rollback(actor=ACTOR, name="fraud")
    told = [(e.type, e.object_id, e.data["object"]["status"], (e.data.get("previous_attributes") or {}).get("status"))
            for e in Event.objects.order_by("created", "pk")]
    one, two = first["model_id"], second["model_id"]
    # As a set: the events of one transaction may share a timestamp.
    assert sorted(told, key=repr) == sorted([
        ("model.registered", one, "candidate", None), ("model.activated", one, "active", "candidate"),
        ("model.registered", two, "candidate", None), ("model.retired", one, "retired", "active"),
        ("model.activated", two, "active", "candidate"),
        ("model.retired", two, "retired", "active"), ("model.activated", one, "active", "retired"),
    ], key=repr)


def test_a_models_version_holds_no_card_number_whatever_the_second():
    # The second `make run` seeded its churn model at: as one run of digits its stamp passes the checksum, and the
    # PCI self-assessment reported a card number in the model's version and in two events.
    at = dt.datetime(2026, 12, 4, 4, 21, 25, tzinfo=dt.UTC)
    assert contains_pan("churn-20261204042125-nfei")
    version = registry.new_version("churn", at)
    assert re.fullmatch(r"churn-20261204T042125-[a-z0-9]{4}", version), version
    # Every second of that day, of which the old form made ~8,600 card numbers.
    day = [at.replace(hour=0, minute=0, second=0) + dt.timedelta(seconds=s) for s in range(86_400)]
    assert sum(contains_pan(f"churn-{moment:%Y%m%d%H%M%S}-nfei") for moment in day) > 8_000
    assert [moment for moment in day if contains_pan(registry.new_version("churn", moment))] == []
    # The stamp is UTC whatever zone the time comes in.
    assert registry.new_version("fraud", at.astimezone(dt.timezone(dt.timedelta(hours=5)))).startswith(
        "fraud-20261204T042125-")
