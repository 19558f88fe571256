from django.urls import reverse

from core.context import Actor
from core.ml import registry
from core.models import MLModel
from payments.models import RiskThresholds
from tests.adminurls import admin_url

ACTOR = Actor.system("tests")


def _model(version, auc, eval_fp="e1"):
    return registry.model_register(actor=ACTOR, name="fraud", version=version, features=["x"], artifact=b"x",
                                   artifact_format="t", data_fingerprint="f" * 64, params={},
                                   metrics={"auprc": 0.5, "roc_auc": auc, "rules_baseline": {"auprc": 0.1}},
                                   eval_fingerprint=eval_fp)


def test_models_page_warns_of_a_model_worse_than_chance_and_promotes_by_the_rule(staff_client):
    client = staff_client("admin")
    bad, good = _model("fraud-bad", 0.36), _model("fraud-good", 0.97)
    page = client.get(reverse("admin:core_mlmodel_changelist")).content.decode()
    assert "Worse than chance (ROC-AUC at most 0.5): never used" in page and "fraud-good" in page
    assert client.get(admin_url(bad)).status_code == 200
    response = client.post(reverse("admin:core_mlmodel_changelist"), {
        "action": "promote_model", "_selected_action": [bad.pk, good.pk], "_operation": "promote_model",
        "_token": "tok-" + "p" * 12})
    assert response.status_code == 302
    assert dict(MLModel.objects.values_list("version", "status")) == {"fraud-bad": "candidate",
                                                                      "fraud-good": "active"}


def test_thresholds_are_edited_through_their_service(staff_client):
    client = staff_client("admin")
    url = reverse("admin:payments_riskthresholds_add")
    response = client.post(url, {"review_at": 30, "block_at": 20})
    assert not RiskThresholds.objects.exists()
    response = client.post(url, {"review_at": 30, "block_at": 80}, follow=True)
    assert response.status_code == 200
    assert list(RiskThresholds.objects.values_list("review_at", "block_at")) == [(30, 80)]
