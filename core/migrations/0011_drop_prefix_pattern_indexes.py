"""Drops the `<column>_like` indexes (`varchar_pattern_ops`, `text_pattern_ops`) that Django's PostgreSQL backend made
beside indexed text columns before core.pgbackend stopped making them: nothing searches those columns by prefix, and
each was written on every insert (docs/PERFORMANCE.md). Runs after every app's tables exist; a new database has none
to drop. Not reversed: the backend would not use them."""

from django.db import migrations


def drop_pattern_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE %s AND (indexdef LIKE %s OR indexdef LIKE %s)",
            [r"%\_like", "%varchar_pattern_ops)", "%text_pattern_ops)"])
        found = [index for table, index in cursor.fetchall() if table in tables]
    for index in found:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0010_changelist_filter_indexes"),
        ("accounts", "0006_move_django_otp_devices"),
        ("approvals", "0001_initial"),
        ("wallets", "0008_dashboard_period_indexes"),
        ("payments", "0013_created_cover_index"),
        ("subscriptions", "0010_churn_scores_schedule"),
        ("compliance", "0002_merge_chain_pci_exports"),
        ("monitoring", "0014_customers_snapshot_schedule"),
        ("webhooks", "0001_initial"),
        ("mcp_gateway", "0003_approvals_moved_to_their_app"),
    ]

    operations = [migrations.RunPython(drop_pattern_indexes, migrations.RunPython.noop, elidable=True)]
