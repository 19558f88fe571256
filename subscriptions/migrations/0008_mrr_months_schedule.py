"""Schedules the MRR months rollup (subscriptions.tasks.refresh_mrr_months) every five minutes.

A row (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

REFRESH = ("subscriptions: MRR months rollup", "subscriptions.refresh_mrr_months")


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REFRESH[0], defaults={"task": REFRESH[1], "interval": every_five, "enabled": True,
                                   "description": "Stores every closed month's MRR movements (the subscriptions "
                                                  "page replays only the current month)."})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=REFRESH[0], task=REFRESH[1]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0007_mrr_months"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
