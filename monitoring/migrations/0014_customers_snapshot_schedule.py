"""Schedules the customers snapshot (monitoring.tasks_rollups.refresh_customers_snapshot) every five minutes: the
customers page's figures for its default period, the last 30 days."""

from django.db import migrations

from core.beat_rows import BEAT_DEPENDENCY, every


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0013_customers_snapshot"), BEAT_DEPENDENCY]

    operations = [every("monitoring: customers page snapshot (last 30 days)", "monitoring.refresh_customers_snapshot",
                        every=5, period="minutes", description="Scores the last 30 days' paying customers (RFM "
                                                               "segments, top customers, summary) for the customers "
                                                               "page.")]
