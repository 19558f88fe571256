"""Staff-facing help text; `LedgerAccount.updated` (moved with the balance, filled from the last
posting of each account); postings indexed by (account, id) for histories in posting order, in
place of the index on the account alone (same number of indexes on the ledger's hottest table).

The account-only index is dropped by name, not by altering the field: on SQLite altering it
rebuilds the table, which would drop its append-only trigger (0002)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_updated(apps, schema_editor):
    LedgerAccount, Posting = apps.get_model("wallets", "LedgerAccount"), apps.get_model("wallets", "Posting")
    last = Posting.objects.filter(account_id=OuterRef("pk")).order_by("-id").values("created")[:1]
    LedgerAccount.objects.update(updated=Subquery(last))


def _account_only_indexes(schema_editor, model):
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [name for name, info in constraints.items()
            if info["index"] and not info["primary_key"] and not info["unique"] and info["columns"] == ["account_id"]]


def drop_account_index(apps, schema_editor):
    Posting = apps.get_model("wallets", "Posting")
    for name in _account_only_indexes(schema_editor, Posting):
        schema_editor.execute(schema_editor._delete_index_sql(Posting, name))


def restore_account_index(apps, schema_editor):
    Posting = apps.get_model("wallets", "Posting")
    if not _account_only_indexes(schema_editor, Posting):
        schema_editor.execute(schema_editor._create_index_sql(Posting, fields=[Posting._meta.get_field("account")]))


class Migration(migrations.Migration):

    dependencies = [
        ('wallets', '0003_beat_schedules'),
    ]

    operations = [
        migrations.AddField(
            model_name='ledgeraccount',
            name='updated',
            field=models.DateTimeField(blank=True, help_text='When the balance or the pending holds last changed.', null=True),
        ),
        migrations.AlterField(
            model_name='ledgeraccount',
            name='balance',
            field=models.BigIntegerField(default=0, help_text='The sum of every posting on the account.'),
        ),
        migrations.AlterField(
            model_name='ledgeraccount',
            name='version',
            field=models.BigIntegerField(default=0, help_text='How many times the account has changed.'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(
                model_name='posting',
                name='account',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='wallets.ledgeraccount'),
            )],
            database_operations=[migrations.RunPython(drop_account_index, restore_account_index)],
        ),
        migrations.AlterField(
            model_name='posting',
            name='amount',
            field=models.BigIntegerField(help_text='Negative leaves the account, positive enters it.'),
        ),
        migrations.AlterField(
            model_name='wallet',
            name='daily_limit',
            field=models.BigIntegerField(blank=True, help_text='Outgoing limit per UTC day; empty: no limit.', null=True),
        ),
        migrations.AddIndex(
            model_name='posting',
            index=models.Index(fields=['account', '-id'], name='posting_account_order_idx'),
        ),
        migrations.RunPython(fill_updated, migrations.RunPython.noop),
    ]
