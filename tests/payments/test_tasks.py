import datetime as dt

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from core import clock
from payments import tasks
from payments.models import Payment

pytestmark = pytest.mark.django_db


def test_beat_rows_come_from_the_data_migration():
    rows = dict(PeriodicTask.objects.filter(task__startswith="payments.").values_list("task", "crontab__minute"))
    assert rows == {"payments.expire_authorisations": "15", "payments.settle_unknown": "*/5",
                    "payments.reconcile": "30", "payments.retry_failed_webhooks": "*/10",
                    "payments.risk_train": "0"}  # weekly retraining (issue 14): Mondays 03:00 UTC
    assert PeriodicTask.objects.get(task="payments.risk_train").crontab.day_of_week == "1"


def test_tasks_call_the_services(pay):
    held = pay(capture_method="manual")
    unknown = pay(token="tok_timeout")
    with time_machine.travel(clock.now() + dt.timedelta(days=8)):
        assert tasks.settle_unknown.apply().get() == 1
        assert tasks.expire_authorisations.apply().get() == 1
        assert tasks.reconcile.apply().get() == 0
        assert tasks.retry_failed_webhooks.apply().get() == 0
    assert Payment.objects.get(pk=held.id).status == "canceled"
    assert Payment.objects.get(pk=unknown.id).status == "succeeded"
