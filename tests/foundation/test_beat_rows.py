"""Every periodic task row the migrations make names a task the worker has registered (a typo would schedule a
task nobody runs, silently)."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from config.celery import app

pytestmark = pytest.mark.django_db


def test_every_beat_row_names_a_registered_task():
    app.loader.import_default_modules()
    rows = dict(PeriodicTask.objects.exclude(task="celery.backend_cleanup").values_list("name", "task"))
    assert {"monitoring.refresh_payment_days", "monitoring.build_payment_days", "monitoring.refresh_customers_snapshot",
            "subscriptions.refresh_mrr_months", "subscriptions.score_churn"} <= set(rows.values())
    assert {name: task for name, task in rows.items() if task not in app.tasks} == {}
