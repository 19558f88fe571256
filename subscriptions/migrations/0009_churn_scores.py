"""Stored churn scores (subscriptions.models.ChurnScore): the at-risk lists read the riskiest instead of scoring
the whole paying base per request."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0010_changelist_filter_indexes'),
        ('subscriptions', '0008_mrr_months_schedule'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChurnScore',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('customer_id', models.CharField(max_length=40)),
                ('currency', models.CharField(max_length=3)),
                ('score', models.FloatField()),
                ('reasons', models.JSONField(default=list)),
                ('scored_at', models.DateTimeField(help_text='The moment the features were read.')),
                ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='churn_scores', to='core.mlmodel')),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='churn_scores', to='subscriptions.subscription')),
            ],
            options={
                'indexes': [models.Index(fields=['model', '-score'], name='churn_score_rank_idx')],
                'constraints': [models.UniqueConstraint(fields=('model', 'subscription'), name='churn_score_unique')],
            },
        ),
    ]
