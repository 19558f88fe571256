"""Beat rows made by migrations: a periodic task on an interval, created if missing and removed on reverse.
Rows (not a beat_schedule in settings) so a staff edit of a schedule survives restarts. Migrations call these
with their historical `apps`, so only django_celery_beat's historical models are used."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BEAT_DEPENDENCY = ("django_celery_beat", "0019_alter_periodictasks_options")


def _periodic(name: str, task: str, description: str, schedule: Callable[[Any], dict[str, Any]]) -> Any:
    """A RunPython operation making the row `name` for `task`; `schedule(apps)` gives its interval or crontab."""
    from django.db import migrations

    def create(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
            name=name, defaults={"task": task, "enabled": True, "description": description, **schedule(apps)})

    def remove(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name, task=task).delete()

    return migrations.RunPython(create, remove)


def every(name: str, task: str, *, every: int, period: str, description: str) -> Any:
    """`task` every `every` `period` (minutes, hours) under the row `name`."""
    def interval(apps: Any) -> dict[str, Any]:
        schedule, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
            every=every, period=period)
        return {"interval": schedule}

    return _periodic(name, task, description, interval)


def daily(name: str, task: str, *, hour: int, minute: int, description: str) -> Any:
    """`task` every day at hour:minute UTC under the row `name`."""
    def crontab(apps: Any) -> dict[str, Any]:
        schedule, _ = apps.get_model("django_celery_beat", "CrontabSchedule").objects.get_or_create(
            minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
        return {"crontab": schedule}

    return _periodic(name, task, description, crontab)
