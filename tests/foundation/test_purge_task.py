import datetime as dt

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from config.celery import app
from core import clock
from core.models import IdempotencyRecord
from core.tasks import PURGE_TASK_NAME, purge_idempotency_keys

pytestmark = pytest.mark.django_db


def test_purge_is_scheduled_hourly_by_the_migration():
    task = PeriodicTask.objects.get(task=PURGE_TASK_NAME)
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "hours")
    assert PURGE_TASK_NAME in app.tasks


def _record(key, created):
    return IdempotencyRecord.objects.create(scope="api_key:key_x", key=key, operation="create_customer",
                                            fingerprint="f" * 64, response_status=201, response_body={},
                                            created_at=created, expires_at=created + dt.timedelta(hours=24))


def test_purge_task_deletes_only_expired_records():
    now = dt.datetime(2026, 8, 1, 12, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        _record("old", now - dt.timedelta(hours=25))
        _record("fresh", now - dt.timedelta(hours=23))
        assert clock.now() == now
        result = purge_idempotency_keys.apply()
    assert result.get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
