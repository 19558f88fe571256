"""Schedules the MRR months rollup (subscriptions.tasks.refresh_mrr_months) every five minutes."""

from django.db import migrations

from core.beat_rows import BEAT_DEPENDENCY, every


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0007_mrr_months"), BEAT_DEPENDENCY]

    operations = [every("subscriptions: MRR months rollup", "subscriptions.refresh_mrr_months", every=5,
                        period="minutes", description="Stores every closed month's MRR movements (the subscriptions "
                                                      "page replays only the current month).")]
