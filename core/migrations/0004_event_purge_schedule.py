"""Schedules the daily purge of events, delivery logs and sent outbox rows past EVENT_RETENTION_DAYS.

A row (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

TASK = "core.purge_events"
NAME = "Purge events past their retention"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": TASK, "interval": every_day, "enabled": True,
                             "description": "Deletes events and delivery logs older than EVENT_RETENTION_DAYS."})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_events_and_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
