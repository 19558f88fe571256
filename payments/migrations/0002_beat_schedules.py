"""Periodic tasks as rows (not a settings beat_schedule), so staff edits survive restarts."""

from django.db import migrations

SCHEDULES = [
    # (name, task, crontab minute, hour)
    ("payments: expire authorisations", "payments.expire_authorisations", "15", "*"),
    ("payments: settle unknown outcomes", "payments.settle_unknown", "*/5", "*"),
    ("payments: daily reconciliation", "payments.reconcile", "30", "2"),
    ("payments: retry failed webhooks", "payments.retry_failed_webhooks", "*/10", "*"),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(minute=minute, hour=hour, day_of_week="*",
                                                           day_of_month="*", month_of_year="*", timezone="UTC")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
