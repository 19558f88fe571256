"""Schedules the churn scoring (subscriptions.tasks.score_churn) every hour.

A row (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

SCORE = ("subscriptions: churn scores of paying subscriptions", "subscriptions.score_churn")


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=SCORE[0], defaults={"task": SCORE[1], "interval": hourly, "enabled": True,
                                 "description": "Scores every paying subscription with the active churn model and "
                                                "stores the scores the at-risk lists read."})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=SCORE[0], task=SCORE[1]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0009_churn_scores"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
