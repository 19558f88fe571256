"""Schedules the daily revenue forecast (monitoring.tasks_revenue), after midnight UTC so yesterday is complete.

A row (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

TASK = "monitoring.compute_revenue_forecasts"
NAME = "monitoring: revenue forecasts (daily)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="20", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": TASK, "crontab": schedule, "enabled": True,
                             "description": "Fits each currency's 30-day gross forecast, backtests it against the "
                                            "weekly seasonal-naive baseline and stores both errors."})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0006_revenue_forecast"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
