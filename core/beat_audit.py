"""Audit of the Celery beat schedule (django-celery-beat's tables, edited in the admin).

A periodic task decides what runs unattended and when (the sealer, reconciliation, billing): a change
to it is a settings change (PCI DSS 10.2.2). Every save that changes what a task runs or when, every
delete, and the admin's enable/disable/toggle/run actions (which update in bulk, without signals:
`config.admin_site` records them) write an event in the transaction of the change. The scheduler's
own bookkeeping (`last_run_at`, `total_run_count`) is not recorded.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import pre_delete
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from .audit import audit_record, declare_actions
from .audit_tracking import track_changes


@declare_actions
class ScheduleAction(models.TextChoices):
    PERIODIC_TASK_SAVED = "periodic_task.saved", "A periodic task was created or changed"
    PERIODIC_TASK_DELETED = "periodic_task.deleted", "A periodic task was deleted"
    PERIODIC_TASK_ENABLED = "periodic_task.enabled", "A periodic task was enabled or disabled in the admin"
    PERIODIC_TASK_RUN_REQUESTED = "periodic_task.run_requested", "Staff ran a periodic task now"
    SCHEDULE_SAVED = "schedule.saved", "A beat schedule (interval, crontab, solar, clocked) was created or changed"
    SCHEDULE_DELETED = "schedule.deleted", "A beat schedule was deleted"


TASK_FIELDS = ("name", "task", "interval", "crontab", "solar", "clocked", "args", "kwargs", "queue", "exchange",
               "routing_key", "headers", "priority", "expires", "expire_seconds", "one_off", "start_time",
               "enabled", "description")
SCHEDULES: tuple[type[models.Model], ...] = (IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule)


def _task_saved(task: Any, created: bool, changed: dict[str, list[Any]]) -> None:
    audit_record(action=ScheduleAction.PERIODIC_TASK_SAVED, obj=task,
                 details={"name": task.name, "task": task.task, "enabled": task.enabled, "created": created,
                          "changed": changed})


def _schedule_saved(schedule: Any, created: bool, changed: dict[str, list[Any]]) -> None:
    audit_record(action=ScheduleAction.SCHEDULE_SAVED, obj=schedule,
                 details={"schedule": str(schedule), "created": created, "changed": changed})


def _deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if sender is PeriodicTask:
        audit_record(action=ScheduleAction.PERIODIC_TASK_DELETED, obj=instance,
                     details={"name": instance.name, "task": instance.task})
    else:
        audit_record(action=ScheduleAction.SCHEDULE_DELETED, obj=instance, details={"schedule": str(instance)})


def record_enabled(tasks: Any, *, enabled: dict[int, bool]) -> None:
    """The admin's bulk enable/disable/toggle (a queryset update sends no signal): one event per task."""
    for task in tasks:
        audit_record(action=ScheduleAction.PERIODIC_TASK_ENABLED, obj=task,
                     details={"name": task.name, "task": task.task, "enabled": enabled[task.pk]})


def record_run_requested(tasks: Any) -> None:
    for task in tasks:
        audit_record(action=ScheduleAction.PERIODIC_TASK_RUN_REQUESTED, obj=task,
                     details={"name": task.name, "task": task.task})


def connect() -> None:
    track_changes(PeriodicTask, TASK_FIELDS, _task_saved, uid="beat.PeriodicTask")
    for model in SCHEDULES:
        fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
        track_changes(model, fields, _schedule_saved, uid=f"beat.{model.__name__}")
    for model in (PeriodicTask, *SCHEDULES):
        pre_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=f"audit.delete.{model._meta.label}")
