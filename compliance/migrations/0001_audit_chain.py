"""The sealed audit trail: archive and check tables, the trigger that makes core_auditevent
append-only on PostgreSQL, and the beat rows of the sealer (every minute), the chain verification
(nightly) and the archiver (daily). docs/COMPLIANCE.md.

The trigger refuses every UPDATE but the sealer's one-time fill of seq/prev_hash/hash (all three
null before, nothing else changed) and every DELETE but the archiver's (the transaction set
`compliance.archiver` to `on`, the row is sealed and its seq lies in a verified archive). No
TRUNCATE trigger on purpose: test flushes use TRUNCATE. SQLite gets no trigger.
"""

import core.ids
from django.db import migrations, models


PG_INSTALL = """
CREATE OR REPLACE FUNCTION compliance_audit_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
           AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
           AND (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash') = (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit events are append-only: UPDATE of % refused (only the sealer''s one-time fill of seq, prev_hash and hash)',
            OLD.id USING ERRCODE = 'raise_exception';
    END IF;
    IF current_setting('compliance.archiver', true) = 'on' AND OLD.seq IS NOT NULL AND EXISTS (
        SELECT 1 FROM compliance_auditarchive a
        WHERE a.verified_at IS NOT NULL AND OLD.seq BETWEEN a.first_seq AND a.last_seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: DELETE of % refused (only the archiver, of events in a verified archive)',
        OLD.id USING ERRCODE = 'raise_exception';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION compliance_audit_guard();
"""

PG_UNINSTALL = """
DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;
DROP FUNCTION IF EXISTS compliance_audit_guard();
"""


def install_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_INSTALL, params=None)


def uninstall_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UNINSTALL, params=None)


SCHEDULES = [
    # (name, task, crontab minute, hour)
    ("compliance: seal audit events (every minute)", "compliance.seal_audit", "*", "*"),
    ("compliance: verify the audit chain (nightly)", "compliance.verify_audit_chain", "45", "2"),
    ("compliance: archive old audit events (daily)", "compliance.archive_audit", "30", "3"),
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("core", "0007_audit_xact_id"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditChainCheck',
            fields=[
                ('id', core.ids.PublicIdField(prefix='acc', serialize=False)),
                ('started_at', models.DateTimeField(db_index=True)),
                ('finished_at', models.DateTimeField()),
                ('include_archives', models.BooleanField(default=False)),
                ('intact', models.BooleanField()),
                ('count', models.BigIntegerField(help_text='Sealed events checked.')),
                ('first_broken_event_id', models.CharField(blank=True, max_length=64, null=True)),
                ('reason', models.CharField(blank=True, help_text='altered, missing or inserted (empty when intact).', max_length=16, null=True)),
                ('head_seq', models.BigIntegerField(blank=True, null=True)),
                ('head_event_id', models.CharField(blank=True, max_length=64)),
                ('head_hash', models.CharField(blank=True, max_length=64)),
            ],
            options={
                'ordering': ['-started_at'],
                'get_latest_by': 'started_at',
            },
        ),
        migrations.CreateModel(
            name='AuditArchive',
            fields=[
                ('id', core.ids.PublicIdField(prefix='arc', serialize=False)),
                ('file_name', models.CharField(help_text='Inside AUDIT_ARCHIVE_DIR.', max_length=200, unique=True)),
                ('sha256', models.CharField(help_text='SHA-256 of the compressed file.', max_length=64)),
                ('size', models.BigIntegerField(help_text='Bytes of the compressed file.')),
                ('first_seq', models.BigIntegerField(unique=True)),
                ('last_seq', models.BigIntegerField(unique=True)),
                ('event_count', models.IntegerField()),
                ('first_event_id', models.CharField(max_length=64)),
                ('last_event_id', models.CharField(max_length=64)),
                ('first_prev_hash', models.CharField(help_text="The chain's hash just before this file.", max_length=64)),
                ('last_hash', models.CharField(help_text="The hash of the file's last event.", max_length=64)),
                ('oldest_occurred_at', models.DateTimeField()),
                ('newest_occurred_at', models.DateTimeField()),
                ('created', models.DateTimeField()),
                ('verified_at', models.DateTimeField(blank=True, help_text='When the written file was read back and matched the events.', null=True)),
                ('purged_at', models.DateTimeField(blank=True, help_text='When the file passed its retention.', null=True)),
            ],
            options={
                'ordering': ['first_seq'],
                'constraints': [models.CheckConstraint(condition=models.Q(('last_seq__gte', models.F('first_seq'))), name='auditarchive_seq_range')],
            },
        ),
        migrations.RunPython(install_guard, uninstall_guard),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
