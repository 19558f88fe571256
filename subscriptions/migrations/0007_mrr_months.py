"""The MRR months rollup (subscriptions.models.MrrMonth, MrrRollup): closed months' MRR movements per currency,
stored so the subscriptions page replays only the current month."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0006_subscription_event_fk_index_covered'),
    ]

    operations = [
        migrations.CreateModel(
            name='MrrRollup',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('refreshed_at', models.DateTimeField()),
                ('through', models.DateField(help_text="First day of the first month not stored (the refresh's own month).")),
            ],
        ),
        migrations.CreateModel(
            name='MrrMonth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(help_text='First day of the month (UTC).')),
                ('currency', models.CharField(max_length=3)),
                ('mrr_start', models.BigIntegerField()),
                ('mrr_end', models.BigIntegerField()),
                ('customers_start', models.PositiveIntegerField(help_text="Paying customers at the month's start.")),
                ('customers_end', models.PositiveIntegerField()),
                ('keys_end', models.PositiveIntegerField(help_text='Customers with a subscription in any status at the end.')),
                ('new', models.BigIntegerField()),
                ('reactivation', models.BigIntegerField()),
                ('expansion', models.BigIntegerField()),
                ('contraction', models.BigIntegerField()),
                ('churn', models.BigIntegerField()),
                ('customers_churned', models.PositiveIntegerField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('month', 'currency'), name='mrr_month_unique')],
            },
        ),
    ]
