"""Beat rows made by migrations: a periodic task on an interval, created if missing and removed on reverse.
Rows (not a beat_schedule in settings) so a staff edit of a schedule survives restarts. Migrations call these
with their historical `apps`, so only django_celery_beat's historical models are used."""

from __future__ import annotations

from typing import Any

BEAT_DEPENDENCY = ("django_celery_beat", "0019_alter_periodictasks_options")


def every(name: str, task: str, *, every: int, period: str, description: str) -> Any:
    """A RunPython operation scheduling `task` every `every` `period` (minutes, hours) under the row `name`."""
    from django.db import migrations

    def create(apps: Any, schema_editor: Any) -> None:
        IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True, "description": description})

    def remove(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name, task=task).delete()

    return migrations.RunPython(create, remove)


def daily(name: str, task: str, *, hour: int, minute: int, description: str) -> Any:
    """A RunPython operation scheduling `task` every day at hour:minute UTC under the row `name`."""
    from django.db import migrations

    def create(apps: Any, schema_editor: Any) -> None:
        CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "enabled": True, "description": description})

    def remove(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name, task=task).delete()

    return migrations.RunPython(create, remove)
