"""Schedules the payment days rollup (monitoring.tasks_rollups): recent and changed days every five minutes, every
day nightly after the customer activity build.

Rows (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

REFRESH = ("monitoring: payment days rollup (recent and changed days)", "monitoring.refresh_payment_days")
BUILD = ("monitoring: payment days rollup (full, nightly)", "monitoring.build_payment_days")


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REFRESH[0], defaults={"task": REFRESH[1], "interval": every_five, "enabled": True,
                                   "description": "Recomputes the last 8 days and every day a payment or refund "
                                                  "changed since the last run touched (revenue, payments, overview)."})
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="50", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(
        name=BUILD[0], defaults={"task": BUILD[1], "crontab": nightly, "enabled": True,
                                 "description": "Recomputes every day of the payment days rollup."})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task in (REFRESH, BUILD):
        PeriodicTask.objects.filter(name=name, task=task).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0011_payment_days"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
