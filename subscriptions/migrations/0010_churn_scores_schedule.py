"""Schedules the churn scoring (subscriptions.tasks.score_churn) every hour."""

from django.db import migrations

from core.beat_rows import BEAT_DEPENDENCY, every


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0009_churn_scores"), BEAT_DEPENDENCY]

    operations = [every("subscriptions: churn scores of paying subscriptions", "subscriptions.score_churn", every=1,
                        period="hours", description="Scores every paying subscription with the active churn model "
                                                    "and stores the scores the at-risk lists read.")]
