"""Single-column indexes that a composite index leading with the same column already serves (docs/PERFORMANCE.md):
only the index is dropped. AlterField alone would also drop and re-add the foreign key, which checks every row again
under a lock."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_move_django_otp_devices'),
        ('mcp_gateway', '0003_approvals_moved_to_their_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='toolcall',
                    name='api_key',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.apikey'),
                ),
            ],
            database_operations=[
                migrations.RunSQL("DROP INDEX IF EXISTS mcp_gateway_toolcall_api_key_id_4f0630f7",
                                  "CREATE INDEX IF NOT EXISTS mcp_gateway_toolcall_api_key_id_4f0630f7 ON mcp_gateway_toolcall (api_key_id)"),
                migrations.RunSQL("DROP INDEX IF EXISTS mcp_gateway_toolcall_api_key_id_4f0630f7_like", migrations.RunSQL.noop),
            ],
        ),
    ]
