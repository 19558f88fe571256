"""Audit events remember the transaction that inserted them, so the sealer can tell a row whose
transaction has ended from one that may still commit (compliance.chain, docs/COMPLIANCE.md).

On PostgreSQL a BEFORE INSERT trigger sets `xact_id = pg_current_xact_id()` (whatever the client
sends, `bulk_create` included); rows written before this migration get 0 (long committed, sealed by
the next run). SQLite has no transaction ids: the column stays null there.
"""

from django.db import migrations, models

PG_INSTALL = """
CREATE OR REPLACE FUNCTION core_auditevent_set_xact_id() RETURNS trigger AS $$
BEGIN
    NEW.xact_id := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_xact_id BEFORE INSERT ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_auditevent_set_xact_id();
UPDATE core_auditevent SET xact_id = 0 WHERE xact_id IS NULL;
"""

PG_UNINSTALL = """
DROP TRIGGER IF EXISTS core_auditevent_xact_id ON core_auditevent;
DROP FUNCTION IF EXISTS core_auditevent_set_xact_id();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UNINSTALL, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0006_event_dispatched_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="xact_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True,
                                         help_text="The database transaction that wrote the event (PostgreSQL only): it is sealed once that has ended."),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["occurred_at", "id"],
                               name="audit_unsealed_idx"),
        ),
        migrations.RunPython(install, uninstall),
    ]
