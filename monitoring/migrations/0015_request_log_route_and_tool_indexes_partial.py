"""A logged request has a route (REST) or a tool (MCP), never both: each index keeps only the rows that have its
column, so every request writes one index entry fewer (docs/PERFORMANCE.md)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0014_customers_snapshot_schedule'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='requestlog',
            name='rlog_route_idx',
        ),
        migrations.RemoveIndex(
            model_name='requestlog',
            name='rlog_tool_idx',
        ),
        migrations.AddIndex(
            model_name='requestlog',
            index=models.Index(condition=models.Q(('route', ''), _negated=True), fields=['route', '-created'], name='rlog_route_idx'),
        ),
        migrations.AddIndex(
            model_name='requestlog',
            index=models.Index(condition=models.Q(('tool', ''), _negated=True), fields=['tool', '-created'], name='rlog_tool_idx'),
        ),
    ]
