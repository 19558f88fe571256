"""Two (or more) evaluators at once never open two alerts for one dedup key: the partial unique constraint
decides, the losers fold into the winner's alert. Real threads, one PostgreSQL connection each."""

import pytest
from django.core import mail

from core import clock
from core.context import Actor
from core.models import Event
from monitoring.alerts.rules import evaluate_all
from monitoring.alerts.services import alert_raise
from monitoring.models import Alert
from tests.concurrency import failures, run_threads
from tests.monitoring.alertkit import at, metric, minute, rule

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_raises_of_one_key_make_one_alert():
    def target(i):
        return alert_raise(actor=Actor.for_task(f"evaluator-{i}"), source="manual", dedup_key="same",
                           severity="medium", title="Same condition", reason=f"seen by {i}").pk

    outcomes = run_threads(6, target)
    assert failures(outcomes) == []
    alert = Alert.objects.get()
    assert set(outcomes) == {alert.pk}
    assert (alert.occurrence_count, alert.status) == (6, "open")
    assert Event.objects.filter(type="alert.created").count() == 1


def test_two_evaluators_at_once_raise_one_alert_and_mail_once():
    rule("error_rate", params={"threshold": 0.05, "min_requests": 20})
    metric("POST /api/v1/transfers", minute(at(-2)), [40.0] * 100, errors=30)

    def target(i):
        with clock.frozen_at(at()):
            return evaluate_all()

    outcomes = run_threads(2, target)
    assert failures(outcomes) == []
    assert sorted((o["created"], o["folded"]) for o in outcomes) == [(0, 1), (1, 0)]
    alert = Alert.objects.get()
    assert alert.occurrence_count == 2
    assert len(mail.outbox) == 1
