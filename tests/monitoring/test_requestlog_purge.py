"""Retention: rows older than REQUEST_LOG_RETENTION_DAYS (30) are deleted by the daily purge, in chunks."""

import datetime as dt

import pytest
from django_celery_beat.models import PeriodicTask

from core import clock
from monitoring import requestlog
from monitoring.models import RequestLog
from monitoring.tasks_requestlog import PURGE_TASK_NAME, purge_request_logs

NOW = dt.datetime(2026, 11, 30, 3, 40, tzinfo=dt.UTC)


def _at(moment: dt.datetime, request_id: str) -> requestlog.Entry:
    return requestlog.Entry(created=moment, kind="rest", method="GET", route="GET /api/v1/wallets",
                            path="/api/v1/wallets", status=200, duration_ms=1.0, request_id=request_id)


@pytest.mark.django_db
def test_the_purge_deletes_only_rows_older_than_thirty_days():
    cutoff = NOW - dt.timedelta(days=30)
    requestlog.write([_at(cutoff - dt.timedelta(days=5), "old"), _at(cutoff - dt.timedelta(microseconds=1), "edge"),
                      _at(cutoff, "kept_at_cutoff"), _at(NOW - dt.timedelta(days=1), "recent")])
    with clock.frozen_at(NOW):
        assert purge_request_logs() == 2
        assert purge_request_logs() == 0
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["kept_at_cutoff", "recent"]


@pytest.mark.django_db
def test_the_purge_deletes_in_chunks_and_follows_the_setting(settings, monkeypatch):
    settings.REQUEST_LOG_RETENTION_DAYS = 7
    monkeypatch.setattr(requestlog, "PURGE_CHUNK", 2)
    requestlog.write([_at(NOW - dt.timedelta(days=8, minutes=i), f"old-{i}") for i in range(5)]
                     + [_at(NOW - dt.timedelta(days=6), "young")])
    with clock.frozen_at(NOW):
        assert requestlog.request_log_purge() == 5
    assert list(RequestLog.objects.values_list("request_id", flat=True)) == ["young"]


@pytest.mark.django_db
def test_the_purge_is_scheduled_daily_by_a_data_migration():
    task = PeriodicTask.objects.get(task=PURGE_TASK_NAME)
    assert (task.name, task.enabled, task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == (
        "monitoring: purge request log (daily)", True, "40", "3", "UTC")
