"""The beat task form lists our registered tasks in the web process, also in a request thread
whose Celery "current app" is not ours (the list django-celery-beat builds from `current_app`
is then empty)."""

import re

import pytest
from celery import Celery, _state

pytestmark = pytest.mark.django_db

OURS = {"core.purge_idempotency_keys", "payments.expire_authorisations", "payments.reconcile",
        "payments.retry_failed_webhooks", "payments.settle_unknown", "subscriptions.run_billing_cycle",
        "subscriptions.train_churn_model", "wallets.expire_holds", "wallets.verify_ledger"}


@pytest.fixture
def foreign_current_app():
    """This thread's current Celery app is a bare one, as in a thread where code touched
    `celery.current_app` before our app was made the default."""
    previous = _state._tls.current_app
    _state._set_current_app(Celery("someone-else", set_as_current=False))
    yield
    _state._set_current_app(previous)


def registered_choices(page: str) -> set[str]:
    select = re.search(r'<select name="regtask".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="([^"]+)"', select))


def test_periodic_task_form_lists_our_tasks(staff_client, foreign_current_app):
    page = staff_client("admin").get("/admin/django_celery_beat/periodictask/add/").content.decode()
    assert OURS <= registered_choices(page)  # (tests may register tasks of their own)


def test_existing_schedule_shows_its_task_selected(staff_client):
    from django.contrib.admin.utils import quote
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=1, period="hours")
    task = PeriodicTask.objects.create(name="ledger check", task="wallets.verify_ledger", interval=every)
    page = staff_client("admin").get(f"/admin/django_celery_beat/periodictask/{quote(task.pk)}/change/")
    assert '<option value="wallets.verify_ledger" selected>' in page.content.decode()
