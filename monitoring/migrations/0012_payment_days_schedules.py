"""Schedules the payment days rollup (monitoring.tasks_rollups): recent and changed days every five minutes, every
day nightly after the customer activity build."""

from django.db import migrations

from core.beat_rows import BEAT_DEPENDENCY, daily, every


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0011_payment_days"), BEAT_DEPENDENCY]

    operations = [
        every("monitoring: payment days rollup (recent and changed days)", "monitoring.refresh_payment_days",
              every=5, period="minutes", description="Recomputes the last 8 days and every day a payment or refund "
                                                     "changed since the last run touched (revenue, payments, "
                                                     "overview)."),
        daily("monitoring: payment days rollup (full, nightly)", "monitoring.build_payment_days", hour=0, minute=50,
              description="Recomputes every day of the payment days rollup."),
    ]
