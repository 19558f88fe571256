"""Payment.created: its plain index replaced by payment_created_cover_idx, which includes what the dashboards group
and sum over a period (status, customer, currency, captured amount, risk decision, score and model version), so
those scans read the index alone on PostgreSQL (includes are PostgreSQL-only; elsewhere a plain index)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_move_django_otp_devices'),
        ('payments', '0012_attempt_created_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='payment',
            name='created',
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(fields=['created'], include=('status', 'customer', 'currency', 'amount_captured', 'risk_decision', 'risk_score', 'risk_model_version'), name='payment_created_cover_idx'),
        ),
    ]
