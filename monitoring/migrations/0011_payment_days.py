"""The payment days rollup (monitoring.models.PaymentDay): per UTC day, currency, method, provider and failure
code, what the revenue, payments and overview pages read for closed days."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0010_customer_activity_schedules'),
    ]

    operations = [
        migrations.CreateModel(
            name='PaymentDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('currency', models.CharField(max_length=3)),
                ('method', models.CharField(max_length=16)),
                ('provider', models.CharField(blank=True, max_length=40)),
                ('failure_code', models.CharField(blank=True, help_text="Failed payments' code; empty otherwise.", max_length=60)),
                ('payments', models.PositiveIntegerField(default=0, help_text='Payments created on the day.')),
                ('succeeded', models.PositiveIntegerField(default=0)),
                ('failed', models.PositiveIntegerField(default=0)),
                ('captured_payments', models.PositiveIntegerField(default=0, help_text='Of those, payments that captured money.')),
                ('captured_amount', models.BigIntegerField(default=0)),
                ('refunded_amount', models.BigIntegerField(default=0, help_text='Refunded (not failed) of those captures, so far.')),
                ('refunded_payments', models.PositiveIntegerField(default=0)),
                ('gross', models.BigIntegerField(default=0, help_text='Captured on the day (any creation day).')),
                ('fees', models.BigIntegerField(default=0)),
                ('captures', models.PositiveIntegerField(default=0)),
                ('refunds', models.BigIntegerField(default=0, help_text='Succeeded refunds made on the day.')),
                ('fees_returned', models.BigIntegerField(default=0)),
                ('refund_count', models.PositiveIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'currency', 'method', 'provider', 'failure_code'), name='payment_day_unique')],
            },
        ),
    ]
