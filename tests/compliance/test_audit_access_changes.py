"""Logout, role and permission changes, and beat schedule edits are audited (issue 15, audit coverage):
who (the staff member of the admin request), what, when, from where (IP, user agent), the object."""

import pytest
from django.contrib.auth.models import Group, Permission
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.models import AuditEvent
from tests.adminurls import admin_url

pytestmark = pytest.mark.django_db
BROWSER = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "AuditBrowser/1.0"}


_before: set[str] = set()


def forget_earlier_events():
    """From here on `events` sees only new events (the trail is append-only: nothing is deleted)."""
    _before.clear()
    _before.update(AuditEvent.objects.values_list("pk", flat=True))


def events(action, obj=None):
    rows = AuditEvent.objects.filter(action=action).exclude(pk__in=_before).order_by("occurred_at", "id")
    return list(rows.filter(object_id=str(obj.pk)) if obj is not None else rows)


def assert_by(event, user):
    assert (event.actor_type, event.actor_id, event.actor_label) == ("user", str(user.pk), user.username)
    assert (event.ip_address, event.user_agent) == ("203.0.113.7", "AuditBrowser/1.0")
    assert event.outcome == "success"


def test_logout_is_audited_with_the_client(staff_client):
    client = staff_client("admin")
    forget_earlier_events()
    response = client.post("/admin/logout/", **BROWSER)
    assert response.status_code in (200, 302)
    [event] = events("staff_user.logged_out")
    assert_by(event, client.user)
    assert (event.object_type, event.object_id) == ("accounts.user", str(client.user.pk))


def test_group_permission_change_in_the_admin_is_audited(staff_client):
    client = staff_client("admin")
    group = Group.objects.create(name="night shift")
    perm = Permission.objects.get(codename="view_customer", content_type__app_label="accounts")
    response = client.post(admin_url(group, "change"), {"name": "night shift", "permissions": [perm.pk]}, **BROWSER)
    assert response.status_code == 302, response.content[:500]
    [event] = events("group.permissions_changed", group)
    assert_by(event, client.user)
    assert (event.object_type, event.object_id) == ("auth.group", str(group.pk))
    assert event.details == {"added": ["accounts.view_customer"]}
    # Taken away again: the removal names what was removed.
    client.post(admin_url(group, "change"), {"name": "night shift", "permissions": []}, **BROWSER)
    assert events("group.permissions_changed", group)[-1].details == {"removed": ["accounts.view_customer"]}


def test_user_group_and_access_changes_in_the_admin_are_audited(staff_client, make_staff):
    client = staff_client("admin")
    target = make_staff(role="support")
    forget_earlier_events()
    finance = Group.objects.get(name="finance")
    form = {"username": target.username, "email": target.email, "is_active": "on", "is_staff": "on",
            "is_superuser": "on", "groups": [finance.pk], "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "last_login_0": "", "last_login_1": ""}
    response = client.post(admin_url(target, "change"), form, **BROWSER)
    assert response.status_code == 302, response.content[:2000]
    groups = events("staff_user.groups_changed")
    assert sorted((e.details for e in groups), key=str) == [{"added": ["finance"]}, {"removed": ["support"]}]
    for event in groups:
        assert_by(event, client.user)
        assert (event.object_type, event.object_id) == ("accounts.user", str(target.pk))
    [access] = events("staff_user.access_changed")
    assert_by(access, client.user)
    assert access.details == {"changed": {"is_superuser": [False, True]}}


def test_user_permissions_and_flags_changed_in_code_are_audited_as_the_context_actor(make_staff):
    target = make_staff(role="support")
    forget_earlier_events()
    perm = Permission.objects.get(codename="view_customer", content_type__app_label="accounts")
    target.user_permissions.add(perm)
    target.is_active = False
    target.save()
    [perms] = events("staff_user.permissions_changed")
    assert perms.details == {"added": ["accounts.view_customer"]}
    [access] = events("staff_user.access_changed")
    assert access.details == {"changed": {"is_active": [True, False]}}
    assert (access.actor_type, access.actor_id) == ("system", "system")
    # A login's save of last_login records nothing.
    target.save(update_fields=["last_login"])
    assert AuditEvent.objects.exclude(pk__in=_before).count() == 2


def test_periodic_task_edit_and_bulk_actions_in_the_admin_are_audited(staff_client):
    client = staff_client("admin")
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    task = PeriodicTask.objects.create(name="verify ledger", task="wallets.verify_ledger", interval=every)
    forget_earlier_events()
    form = {"name": "verify ledger", "regtask": "wallets.verify_ledger", "task": "", "enabled": "on",
            "interval": every.pk, "args": "[]", "kwargs": "{}", "headers": "{}", "description": "",
            "expire_seconds": "", "priority": "", "queue": "", "exchange": "", "routing_key": "",
            "start_time_0": "", "start_time_1": "", "expires_0": "", "expires_1": "", "one_off": "",
            "crontab": "", "solar": "", "clocked": ""}
    form["kwargs"] = '{"full": true}'
    response = client.post(admin_url(task, "change"), form, **BROWSER)
    assert response.status_code == 302, response.content[:3000]
    [saved] = events("periodic_task.saved")
    assert_by(saved, client.user)
    assert (saved.object_type, saved.object_id) == ("django_celery_beat.periodictask", str(task.pk))
    assert saved.details["changed"] == {"kwargs": ["{}", '{"full": true}']}
    # The bulk disable (a queryset update, no signal) is recorded per task.
    client.post("/admin/django_celery_beat/periodictask/", {"action": "disable_tasks", "_selected_action": [task.pk]},
                **BROWSER)
    [disabled] = events("periodic_task.enabled")
    assert_by(disabled, client.user)
    assert disabled.details == {"name": "verify ledger", "task": "wallets.verify_ledger", "enabled": False}
    # The scheduler's bookkeeping is not an edit.
    task.refresh_from_db()
    task.total_run_count += 1
    task.save()
    assert len(events("periodic_task.saved")) == 1
