"""The weekly retraining of the fraud model as a beat row (staff can change or disable it in the admin)."""

from django.db import migrations

NAME = "payments: retrain the fraud model (weekly)"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Mondays 03:00 UTC: after the daily reconciliation (02:30), outside business hours.
    crontab, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="3", day_of_week="1", day_of_month="*",
                                                       month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": "payments.risk_train", "crontab": crontab})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_fraud_training_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
