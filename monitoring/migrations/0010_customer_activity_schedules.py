"""Schedules the customer activity rollups (monitoring.tasks_rollups): the recent months every five minutes, every
month nightly after the revenue forecast.

Rows (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

REFRESH = ("monitoring: customer activity rollups (recent months)", "monitoring.refresh_customer_activity")
BUILD = ("monitoring: customer activity rollups (full, nightly)", "monitoring.build_customer_activity")


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REFRESH[0], defaults={"task": REFRESH[1], "interval": every_five, "enabled": True,
                                   "description": "Adds the current and previous month's succeeded payments to the "
                                                  "customers page's cohort table and first payments."})
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="40", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(
        name=BUILD[0], defaults={"task": BUILD[1], "crontab": nightly, "enabled": True,
                                 "description": "Recomputes every month of the customer activity rollups (payments "
                                                "that succeeded long after they were created)."})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task in (REFRESH, BUILD):
        PeriodicTask.objects.filter(name=name, task=task).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0009_customer_activity_rollups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
