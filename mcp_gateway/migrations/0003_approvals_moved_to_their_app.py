"""The approval models now belong to the approvals app (its 0001 took over their state and their
tables, which keep their names and rows): only the state is removed here, no table is dropped."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('mcp_gateway', '0002_staff_help_text'),
        ('approvals', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
            migrations.DeleteModel(name='ApprovalRequest'),
            migrations.DeleteModel(name='ApprovalThreshold'),
        ]),
    ]
