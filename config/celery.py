"""The Celery app. Tasks are thin adapters over services; see each app's tasks.py."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_actor(task_id=None, task=None, **_):
    # The acting identity of anything a task does is the task itself.
    from core.context import Actor, bind_context

    bind_context(actor=Actor.for_task(task.name if task else "unknown"), request_id=task_id)


@task_postrun.connect
def _unbind_task_actor(**_):
    from core.context import clear_context

    clear_context()
