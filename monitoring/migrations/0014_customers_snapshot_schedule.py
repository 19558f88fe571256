"""Schedules the customers snapshot (monitoring.tasks_rollups.refresh_customers_snapshot) every five minutes: the
customers page's figures for its default period, the last 30 days.

A row (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

REFRESH = ("monitoring: customers page snapshot (last 30 days)", "monitoring.refresh_customers_snapshot")


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REFRESH[0], defaults={"task": REFRESH[1], "interval": every_five, "enabled": True,
                                   "description": "Scores the last 30 days' paying customers (RFM segments, top "
                                                  "customers, summary) for the customers page."})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=REFRESH[0], task=REFRESH[1]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0013_customers_snapshot"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
