"""Retraining: the weekly task and the admin's "Train a candidate now" train a candidate from stored payments
and their labels (topped up with simulated history while labels are few), record their progress on the
run's row, then apply the promotion rule: a worse candidate stays a candidate."""

import datetime as dt

import pytest
import time_machine

from core import clock
from core.models import AuditEvent, MLModel, OutboxMessage
from payments import tasks
from payments.models import FraudTrainingRun, Payment
from payments.risk.dataset import rows_to_frame
from payments.risk.simulate import simulate
from tests.adminurls import admin_url
from tests.factories import CustomerFactory

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SMALL = {"days": 120, "simulated_customers": 80, "simulated_days": 90, "min_labelled": 5000, "rounds": 60}


@pytest.fixture
def small_retraining(settings):
    settings.PAYMENTS_RISK_RETRAINING = dict(SMALL)
    return settings


@pytest.fixture
def stored(db):
    """40 stored payments of 4 customers over the last 80 days; 10 reviewed (3 fraud, 7 legitimate), one
    older than the window."""
    customers = [CustomerFactory() for _ in range(4)]
    rows = []
    for k in range(40):
        at = NOW - dt.timedelta(days=80 - 2 * k, hours=k % 5)
        label = (k % 4 == 0) if k < 10 else None
        rows.append(Payment(customer=customers[k % 4], amount=2000 + 100 * k, currency="USD", method="card",
                            payment_method="tok_visa", status="succeeded", device_id=f"d{k % 4}", ip_country="US",
                            card_country="US", channel="web", merchant_reference=f"m{k % 3}", fraud_label=label,
                            created=at, updated=at))
    old = NOW - dt.timedelta(days=200)
    rows.append(Payment(customer=customers[0], amount=500, currency="USD", method="card", payment_method="tok_visa",
                        status="succeeded", fraud_label=True, created=old, updated=old))
    Payment.objects.bulk_create(rows)
    return rows


def _simulated_rows() -> int:
    start = (NOW - dt.timedelta(days=SMALL["simulated_days"])).date()
    rows = simulate(customers=SMALL["simulated_customers"], days=SMALL["simulated_days"],
                    seed=int(start.strftime("%Y%m%d")), start=start)
    return len(rows_to_frame(rows)["ts"])


@time_machine.travel(NOW, tick=False)
def test_the_weekly_task_trains_a_candidate_and_promotes_it_by_the_rule(small_retraining, stored):
    assert tasks.risk_train() == "succeeded"
    run = FraudTrainingRun.objects.get()
    assert (run.trigger, run.status, run.progress, run.actor_label) == ("schedule", "succeeded", 100,
                                                                        "task:payments.risk_train")
    assert (run.stored_rows, run.labelled_rows, run.simulated_rows) == (40, 10, _simulated_rows())
    assert [line["step"].split(":")[0].split(" ")[0] for line in run.log] == [
        "queued", "reading", "40", "training", "trained", f"{run.model.version}"]
    assert run.log[2]["step"].startswith("40 stored payments, 10 labelled (fewer than 5000): adding simulated")
    model = MLModel.objects.get()
    assert (run.model_id, model.status, run.promoted) == (model.id, "active", True)
    assert run.reason == model.promotion["reason"] and run.reason.startswith("auprc ")
    assert run.reason.endswith(", no active model")
    assert (model.params["rounds"], model.window_end <= NOW, model.metrics["auprc"] > 0.9) == (60, True, True)
    assert AuditEvent.objects.filter(action="risk_training.requested", object_id=run.id).count() == 1
    assert AuditEvent.objects.filter(action="ml_model.promoted", object_id=model.id).count() == 1


@time_machine.travel(NOW, tick=False)
def test_a_worse_candidate_stays_a_candidate(small_retraining, stored):
    assert tasks.risk_train() == "succeeded"
    active = MLModel.objects.get(status="active")
    # The same data, one boosting round instead of 60: worse on the same test rows.
    small_retraining.PAYMENTS_RISK_RETRAINING = {**SMALL, "rounds": 1}
    assert tasks.risk_train() == "succeeded"
    run = FraudTrainingRun.objects.order_by("-created", "-pk").exclude(model=active).get()
    candidate = run.model
    assert (candidate.status, run.promoted) == ("candidate", False)
    assert run.reason.startswith("worse_than_active: auprc ")
    assert MLModel.objects.get(status="active") == active
    assert candidate.promotion["active_model_id"] == active.id
    assert candidate.promotion["candidate"]["auprc"] < candidate.promotion["active"]["auprc"]


@time_machine.travel(NOW, tick=False)
def test_a_run_without_labelled_fraud_fails_and_says_why(small_retraining, stored):
    # Enough labels that nothing is simulated, and none of them fraud.
    small_retraining.PAYMENTS_RISK_RETRAINING = {**SMALL, "min_labelled": 10}
    Payment.objects.filter(fraud_label=True).update(fraud_label=False)
    assert tasks.risk_train() == "failed"
    run = FraudTrainingRun.objects.get()
    assert (run.status, run.model, run.simulated_rows) == ("failed", None, 0)
    assert run.reason == "The training window needs both fraud and legitimate labelled rows."
    assert MLModel.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_the_admin_button_queues_a_run_that_the_task_runs(small_retraining, stored, staff_client):
    analyst = staff_client("risk_analyst")
    page = analyst.get("/admin/core/mlmodel/").content.decode()
    assert '<a href="/admin/payments/fraudtrainingrun/add/" class="addlink">Train a fraud candidate now</a>' in page
    assert "Train a fraud candidate now" not in staff_client("operator").get("/admin/core/mlmodel/").content.decode()
    assert staff_client("operator").get("/admin/payments/fraudtrainingrun/add/").status_code == 403
    form = analyst.get("/admin/payments/fraudtrainingrun/add/")
    assert form.status_code == 200 and "Train a candidate now" in form.content.decode()
    done = analyst.post("/admin/payments/fraudtrainingrun/add/", {"_token": "t" * 16})
    run = FraudTrainingRun.objects.get()
    assert (done.status_code, done["Location"]) == (302, admin_url(run))
    assert (run.status, run.trigger, run.progress, run.actor_label) == ("queued", "staff", 0,
                                                                        analyst.user.username)
    again = analyst.post("/admin/payments/fraudtrainingrun/add/", {"_token": "t" * 16})
    assert again.status_code == 302 and FraudTrainingRun.objects.count() == 1  # a double submit replays
    message = OutboxMessage.objects.get(task="payments.risk_train")
    assert message.args == [run.id]
    assert tasks.risk_train(*message.args) == "succeeded"
    assert tasks.risk_train(*message.args) == "succeeded"  # delivered twice: runs once
    assert FraudTrainingRun.objects.count() == MLModel.objects.count() == 1
    shown = analyst.get(admin_url(run)).content.decode()
    assert "stays a candidate" not in shown and "promoted: active" in shown and clock.now() == NOW
