"""Schedules the billing cycle (every 15 minutes) and the weekly churn-model training.

Rows, not a beat_schedule in settings, so staff edits of the schedule survive restarts.
"""

from django.db import migrations

BILLING = ("subscriptions.run_billing_cycle", "Subscriptions billing cycle")
CHURN = ("subscriptions.train_churn_model", "Subscriptions churn model training")


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=BILLING[1], defaults={"task": BILLING[0], "interval": every_15, "enabled": True,
                                   "description": "Renews due subscriptions, collects invoices, runs dunning retries."})
    weekly, _ = CrontabSchedule.objects.get_or_create(minute="30", hour="3", day_of_week="1", day_of_month="*",
                                                      month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(
        name=CHURN[1], defaults={"task": CHURN[0], "crontab": weekly, "enabled": True,
                                 "description": "Retrains the churn-risk classifier and stores its metrics."})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for task, name in (BILLING, CHURN):
        PeriodicTask.objects.filter(name=name, task=task).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
