"""Every admin action that is not an operation (operation actions are walked with the operations) writes
an audit event naming the object, as the staff member who ran it (issue 15, audit coverage).

The walk goes over every ModelAdmin of the default admin site and every action it offers a superuser;
an action without an entry in ACTIONS fails the walk, as does one that records nothing."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from accounts.models import BackupCodeDevice, LoginThrottle, StaffTOTPDevice
from approvals import services as approvals
from core import clock
from core.context import Actor
from core.models import AuditEvent
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def _task():
    every = IntervalSchedule.objects.create(every=7, period="minutes")
    return PeriodicTask.objects.create(name=f"walk {clock.now().timestamp()}", task="wallets.verify_ledger",
                                       interval=every, enabled=True)


# (model label, action) -> make the object the action runs on
ACTIONS = {
    ("accounts.LoginThrottle", "delete_selected"): lambda: LoginThrottle.objects.create(username="locked", failures=3),
    ("accounts.User", "delete_selected"): lambda: StaffUserFactory(),
    ("approvals.ApprovalThreshold", "delete_selected"): lambda: approvals.threshold_save(
        actor=Actor.system("tests"), api_key=None, operation="refund_payment", currency="USD", amount="500.00"),
    ("auth.Group", "delete_selected"): lambda: Group.objects.create(name="temporary"),
    ("django_celery_beat.ClockedSchedule", "delete_selected"): lambda: ClockedSchedule.objects.create(
        clocked_time=clock.now() + dt.timedelta(days=1)),
    ("django_celery_beat.CrontabSchedule", "delete_selected"): lambda: CrontabSchedule.objects.create(minute="5"),
    ("django_celery_beat.IntervalSchedule", "delete_selected"): lambda: IntervalSchedule.objects.create(
        every=3, period="hours"),
    ("django_celery_beat.SolarSchedule", "delete_selected"): lambda: SolarSchedule.objects.create(
        event="sunrise", latitude="52.37", longitude="4.89"),
    ("django_celery_beat.PeriodicTask", "delete_selected"): _task,
    ("django_celery_beat.PeriodicTask", "disable_tasks"): _task,
    ("django_celery_beat.PeriodicTask", "enable_tasks"): lambda: PeriodicTask.objects.filter(
        pk=_task().pk).update(enabled=False) and PeriodicTask.objects.latest("id"),
    ("django_celery_beat.PeriodicTask", "toggle_tasks"): _task,
    ("django_celery_beat.PeriodicTask", "run_tasks"): _task,
    ("accounts.BackupCodeDevice", "delete_selected"): lambda: BackupCodeDevice.objects.create(
        user=StaffUserFactory(), name="backup"),
    ("accounts.StaffTOTPDevice", "delete_selected"): lambda: StaffTOTPDevice.objects.create(
        user=StaffUserFactory(), name="x"),
}


def non_operation_actions(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    found = []
    for model, model_admin in admin.site._registry.items():
        operations = set(model_admin._operation_actions()) if hasattr(model_admin, "_operation_actions") else set()
        for name in model_admin.get_actions(request):
            if name not in operations:
                found.append((model, model_admin, name))
    return sorted(found, key=lambda item: (item[0]._meta.label, item[2]))


@pytest.fixture
def broker_folder(settings):
    """run_tasks sends to the broker: without Redis the filesystem broker's folder must exist; the
    messages this test sends are removed afterwards."""
    folder = settings.BASE_DIR / "var" / "broker"
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.iterdir())
    yield
    for path in set(folder.iterdir()) - before:
        if path.is_file():
            path.unlink()


def test_every_non_operation_admin_action_is_audited(staff_client, broker_folder):
    client = staff_client("admin")
    client.user.is_superuser = True
    client.user.save()
    found = non_operation_actions(client.user)
    assert {(model._meta.label, name) for model, _, name in found} == set(ACTIONS), "an action without an entry"
    for model, _, name in found:
        obj = ACTIONS[(model._meta.label, name)]()
        before = set(AuditEvent.objects.values_list("pk", flat=True))
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.post(url, {"action": name, "_selected_action": [obj.pk], "post": "yes"},
                               REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Walk/1.0")
        assert response.status_code in (200, 302), (model._meta.label, name, response.status_code)
        new = AuditEvent.objects.exclude(pk__in=before).filter(object_id=str(obj.pk))
        assert new.exists(), f"{model._meta.label} {name}: no audit event"
        assert {(e.actor_type, e.actor_id, e.ip_address, e.user_agent) for e in new} == {
            ("user", str(client.user.pk), "198.51.100.4", "Walk/1.0")}, (model._meta.label, name)
