"""Beat rows of the health part: the worker heartbeat and the recorded health check, every minute.

Rows (not a beat_schedule in settings) so a staff edit of the schedule survives restarts.
"""

from django.db import migrations

TASKS = [
    ("monitoring: worker heartbeat", "monitoring.worker_heartbeat",
     "The worker that runs it records that it is alive (health component `worker`)."),
    ("monitoring: record health check", "monitoring.record_health_check",
     "Runs every health check and records it (the status page's history, get_system_status)."),
]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    for name, task, description in TASKS:
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": every_minute, "enabled": True, "description": description})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0002_health"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
