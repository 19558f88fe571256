"""No query filters audit events by object type; object_id's own index serves every lookup by object."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0011_drop_prefix_pattern_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='auditevent',
            name='audit_object_idx',
        ),
    ]
