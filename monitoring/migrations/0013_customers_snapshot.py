"""The customers page's snapshot of its default period (monitoring.models.CustomersSnapshot), kept by a job every
five minutes."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0012_payment_days_schedules'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomersSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('start', models.DateField()),
                ('end', models.DateField()),
                ('currency', models.CharField(blank=True, help_text='Empty: every currency.', max_length=3)),
                ('computed_at', models.DateTimeField()),
                ('data', models.JSONField(help_text="Segments, top customers, the period's and the previous period's summary.")),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('start', 'end', 'currency'), name='customers_snapshot_unique')],
            },
        ),
    ]
