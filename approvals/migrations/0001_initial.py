"""The approval models move here from mcp_gateway with their rows: the tables keep their names
(`db_table`), so this migration only creates the models' state; mcp_gateway 0003 drops them from
its own state. The content types move too, so permissions granted on them (and admin history)
stay with the models."""

import core.ids
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("approvalthreshold", "approvalrequest")


def _move(apps, source, target):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types(apps, schema_editor):
    _move(apps, "mcp_gateway", "approvals")


def move_content_types_back(apps, schema_editor):
    _move(apps, "approvals", "mcp_gateway")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_staff_help_text'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('mcp_gateway', '0002_staff_help_text'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
            migrations.CreateModel(
                name='ApprovalThreshold',
                fields=[
                    ('id', core.ids.PublicIdField(prefix='thr', serialize=False)),
                    ('operation', models.CharField(help_text='Tool / operation name, e.g. refund_payment.', max_length=128)),
                    ('currency', models.CharField(choices=[('AED', 'AED'), ('ARS', 'ARS'), ('AUD', 'AUD'), ('BGN', 'BGN'), ('BHD', 'BHD'), ('BRL', 'BRL'), ('CAD', 'CAD'), ('CHF', 'CHF'), ('CLP', 'CLP'), ('CNY', 'CNY'), ('COP', 'COP'), ('CZK', 'CZK'), ('DKK', 'DKK'), ('EGP', 'EGP'), ('EUR', 'EUR'), ('GBP', 'GBP'), ('HKD', 'HKD'), ('HUF', 'HUF'), ('IDR', 'IDR'), ('ILS', 'ILS'), ('INR', 'INR'), ('ISK', 'ISK'), ('JOD', 'JOD'), ('JPY', 'JPY'), ('KES', 'KES'), ('KRW', 'KRW'), ('KWD', 'KWD'), ('MAD', 'MAD'), ('MXN', 'MXN'), ('MYR', 'MYR'), ('NGN', 'NGN'), ('NOK', 'NOK'), ('NZD', 'NZD'), ('OMR', 'OMR'), ('PEN', 'PEN'), ('PHP', 'PHP'), ('PKR', 'PKR'), ('PLN', 'PLN'), ('QAR', 'QAR'), ('RON', 'RON'), ('RSD', 'RSD'), ('SAR', 'SAR'), ('SEK', 'SEK'), ('SGD', 'SGD'), ('THB', 'THB'), ('TND', 'TND'), ('TRY', 'TRY'), ('TWD', 'TWD'), ('UAH', 'UAH'), ('UGX', 'UGX'), ('USD', 'USD'), ('VND', 'VND'), ('XAF', 'XAF'), ('XOF', 'XOF'), ('ZAR', 'ZAR')], max_length=3)),
                    ('amount', models.BigIntegerField(help_text='Calls for more than this amount wait for approval.')),
                    ('created', models.DateTimeField()),
                    ('updated', models.DateTimeField()),
                    ('api_key', models.ForeignKey(blank=True, help_text='Blank: applies to every API key.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.apikey')),
                ],
                options={
                    'db_table': 'mcp_gateway_approvalthreshold',
                    'ordering': ['operation', 'currency'],
                },
            ),
            migrations.CreateModel(
                name='ApprovalRequest',
                fields=[
                    ('id', core.ids.PublicIdField(prefix='apr', serialize=False)),
                    ('operation', models.CharField(max_length=128)),
                    ('arguments', models.JSONField(default=dict)),
                    ('idempotency_key', models.CharField(max_length=255)),
                    ('fingerprint', models.CharField(max_length=64)),
                    ('amount', models.BigIntegerField(blank=True, help_text='Empty when the call gave no amount (it takes the whole remainder).', null=True)),
                    ('currency', models.CharField(blank=True, max_length=3)),
                    ('status', models.CharField(choices=[('pending_approval', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('expired', 'Expired'), ('executed', 'Executed')], db_index=True, default='pending_approval', max_length=20)),
                    ('requested_at', models.DateTimeField(db_index=True)),
                    ('expires_at', models.DateTimeField()),
                    ('decided_at', models.DateTimeField(blank=True, null=True)),
                    ('decision_note', models.CharField(blank=True, max_length=500)),
                    ('result_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                    ('result_body', models.JSONField(blank=True, null=True)),
                    ('api_key', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.apikey')),
                    ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('threshold', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='approvals.approvalthreshold')),
                ],
                options={
                    'db_table': 'mcp_gateway_approvalrequest',
                    'ordering': ['-requested_at'],
                    'permissions': [('decide_approvalrequest', 'Can approve or reject calls held for approval')],
                },
            ),
            migrations.AddConstraint(
                model_name='approvalthreshold',
                constraint=models.UniqueConstraint(fields=('api_key', 'operation', 'currency'), name='mcp_threshold_unique_key'),
            ),
            migrations.AddConstraint(
                model_name='approvalthreshold',
                constraint=models.UniqueConstraint(condition=models.Q(('api_key__isnull', True)), fields=('operation', 'currency'), name='mcp_threshold_unique_all_keys'),
            ),
            migrations.AddConstraint(
                model_name='approvalthreshold',
                constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='mcp_threshold_amount_gte_0'),
            ),
            migrations.AddConstraint(
                model_name='approvalrequest',
                constraint=models.UniqueConstraint(fields=('api_key', 'idempotency_key'), name='mcp_approval_unique_key'),
            ),
        ]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
