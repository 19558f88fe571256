from django.db import migrations


class Migration(migrations.Migration):
    """Joins the three first migrations of the compliance app, written in parallel."""

    dependencies = [
        ("compliance", "0001_audit_chain"),
        ("compliance", "0001_exports"),
        ("compliance", "0001_pci_assessment"),
    ]

    operations = []
