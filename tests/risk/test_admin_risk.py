from django.urls import reverse

from core.context import Actor
from core.ml import registry
from core.models import MLModel
from payments.models import RiskThresholds
from payments.risk import RiskResult
from payments.services import payment_create
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


def explaining_scorer(ctx):
    return RiskResult(score=12, level="normal", decision="allow", model_version="test-1", reasons=["count_1h"],
                      explanation=[{"feature": "count_1h", "value": 3, "usual": 0.2, "contribution": 1.25,
                                    "text": "3 payments in the last hour; usual: 0.2"}])


def test_a_payment_page_explains_its_score_in_words_once(staff_client, settings, one_sandbox, actor, customer):
    settings.PAYMENTS_RISK_SCORER = "tests.risk.test_admin_risk.explaining_scorer"
    payment = payment_create(actor=actor, customer_id=customer.pk, amount=1000, currency="USD", method="card",
                             payment_method="tok_visa")
    body = staff_client("admin").get(admin_url(payment)).content.decode()
    assert "<li>3 payments in the last hour; usual: 0.2 <small>(count_1h, +1.250)</small></li>" in body
    assert body.count("3 payments in the last hour") == 1
    assert "/operation/approve_review/" not in body and "/operation/reject_review/" not in body
