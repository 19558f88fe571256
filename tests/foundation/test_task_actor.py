"""The acting identity of a Celery task is the task, for services and the audit log."""

import pytest
from celery import shared_task
from django.db import models

from core.audit import audit_record, declare_actions
from core.context import current_actor, current_request_id
from core.models import AuditEvent

pytestmark = pytest.mark.django_db
seen = {}


@declare_actions
class TestAction(models.TextChoices):
    TASK_RAN = "test.task_ran", "A test task ran"


@shared_task(name="tests.foundation.record_something")
def record_something():
    seen["actor"] = current_actor()
    seen["request_id"] = current_request_id()
    return audit_record(action=TestAction.TASK_RAN).pk


def test_task_runs_as_the_task_and_the_audit_event_says_so():
    result = record_something.apply(task_id="task-id-0001")
    event = AuditEvent.objects.get(pk=result.get())
    assert seen["actor"].kind == "task"
    assert seen["actor"].id == "tests.foundation.record_something"
    assert seen["request_id"] == "task-id-0001"
    assert (event.actor_type, event.actor_id, event.actor_label, event.request_id) == (
        "task", "tests.foundation.record_something", "task:tests.foundation.record_something", "task-id-0001")
    # The context is cleared after the task.
    assert current_actor() is None


def test_api_request_binds_the_key_as_actor(api):
    r = api.post("/api/v1/customers", {"email": "a@example.com"}, format="json", HTTP_X_REQUEST_ID="actor-req-0001")
    event = AuditEvent.objects.get(action="customer.created", object_id=r.json()["id"])
    assert (event.actor_type, event.actor_id, event.request_id) == ("api_key", api.api_key.pk, "actor-req-0001")
    assert event.actor_label == f"{api.api_key.prefix} ({api.api_key.owner.username})"
