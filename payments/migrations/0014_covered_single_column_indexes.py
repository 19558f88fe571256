"""Single-column indexes that a composite index leading with the same column already serves (docs/PERFORMANCE.md):
only the index is dropped. AlterField alone would also drop and re-add the foreign key, which checks every row again
under a lock."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_move_django_otp_devices'),
        ('payments', '0013_created_cover_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='payment',
                    name='customer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='accounts.customer'),
                ),
                migrations.AlterField(
                    model_name='payment',
                    name='status',
                    field=models.CharField(choices=[('requires_payment_method', 'Requires Payment Method'), ('requires_confirmation', 'Requires Confirmation'), ('processing', 'Processing'), ('requires_capture', 'Requires Capture'), ('succeeded', 'Succeeded'), ('canceled', 'Canceled'), ('failed', 'Failed'), ('unknown', 'Unknown')], default='requires_confirmation', max_length=24),
                ),
                migrations.AlterField(
                    model_name='paymentattempt',
                    name='payment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='attempts', to='payments.payment'),
                ),
            ],
            database_operations=[
                migrations.RunSQL("DROP INDEX IF EXISTS payments_payment_customer_id_8b4d6141",
                                  "CREATE INDEX IF NOT EXISTS payments_payment_customer_id_8b4d6141 ON payments_payment (customer_id)"),
                migrations.RunSQL("DROP INDEX IF EXISTS payments_payment_customer_id_8b4d6141_like", migrations.RunSQL.noop),
                migrations.RunSQL("DROP INDEX IF EXISTS payments_payment_status_fc8cbda2",
                                  "CREATE INDEX IF NOT EXISTS payments_payment_status_fc8cbda2 ON payments_payment (status)"),
                migrations.RunSQL("DROP INDEX IF EXISTS payments_payment_status_fc8cbda2_like", migrations.RunSQL.noop),
                migrations.RunSQL("DROP INDEX IF EXISTS payments_paymentattempt_payment_id_00f3a0be",
                                  "CREATE INDEX IF NOT EXISTS payments_paymentattempt_payment_id_00f3a0be ON payments_paymentattempt (payment_id)"),
                migrations.RunSQL("DROP INDEX IF EXISTS payments_paymentattempt_payment_id_00f3a0be_like", migrations.RunSQL.noop),
            ],
        ),
    ]
