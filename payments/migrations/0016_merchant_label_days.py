"""A merchant's labelled payments counted per UTC day of their creation, kept by triggers on payments_payment, so
that the fraud score's label counts cost the merchant's days rather than its labels (docs/RISK.md).

The triggers count what is in the table whatever wrote it (the ORM, bulk inserts, COPY, raw SQL) in the writing
transaction. Removing a label, deleting a payment or moving it to another merchant or day only ever decrements an
existing day (an UPDATE, never an insert): a test database emptied table by table in any order (SQLite's flush)
cannot leave negative days behind. The triggers are created before the existing labels are counted, in one
transaction: on PostgreSQL CREATE TRIGGER holds writes to payments_payment off until it commits, so no label
written meanwhile is missed or counted twice.
"""

from django.db import migrations, models

# (vendor) -> the UTC day of a creation time, and a label as 0 or 1.
_DAY = {"postgresql": "({row}.created AT TIME ZONE 'UTC')::date", "sqlite": "substr({row}.created, 1, 10)"}
_ONE = {"postgresql": "{row}.fraud_label::int", "sqlite": "{row}.fraud_label"}

_UNCOUNT = ("UPDATE payments_merchantlabelday SET labelled = labelled - 1, fraud = fraud - {old_one} "
            "WHERE merchant_reference = OLD.merchant_reference AND day = {old_day}")
_COUNT = ("INSERT INTO payments_merchantlabelday (merchant_reference, day, labelled, fraud) "
          "SELECT NEW.merchant_reference, {new_day}, 1, {new_one} WHERE {new_counted} "
          "ON CONFLICT (merchant_reference, day) DO UPDATE SET labelled = payments_merchantlabelday.labelled + 1, "
          "fraud = payments_merchantlabelday.fraud + excluded.fraud")
_COUNTED = "{row}.fraud_label IS NOT NULL AND {row}.merchant_reference <> ''"
_CHANGED = {"postgresql": ("OLD.fraud_label IS DISTINCT FROM NEW.fraud_label OR OLD.merchant_reference IS DISTINCT "
                           "FROM NEW.merchant_reference OR OLD.created IS DISTINCT FROM NEW.created"),
            "sqlite": ("OLD.fraud_label IS NOT NEW.fraud_label OR OLD.merchant_reference IS NOT "
                       "NEW.merchant_reference OR OLD.created IS NOT NEW.created")}
_BACKFILL = ("INSERT INTO payments_merchantlabelday (merchant_reference, day, labelled, fraud) "
             "SELECT merchant_reference, {day}, COUNT(*), SUM({one}) FROM payments_payment p WHERE {counted} "
             "GROUP BY merchant_reference, {day}")
_TRIGGERS = ("payments_label_day_insert", "payments_label_day_update", "payments_label_day_delete")
_WATCHED = "AFTER UPDATE OF fraud_label, merchant_reference, created ON payments_payment FOR EACH ROW"


def _parts(vendor: str) -> dict[str, str]:
    day, one = _DAY[vendor], _ONE[vendor]
    return {"old_day": day.format(row="OLD"), "old_one": one.format(row="OLD"), "new_day": day.format(row="NEW"),
            "new_one": one.format(row="NEW"), "new_counted": _COUNTED.format(row="NEW"),
            "old_counted": _COUNTED.format(row="OLD"), "changed": _CHANGED[vendor]}


def _postgresql() -> list[str]:
    p = _parts("postgresql")
    function = f"""
CREATE FUNCTION payments_merchant_label_day() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND {p["old_counted"]} THEN
        {_UNCOUNT.format(**p)};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {_COUNT.format(**p)};
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql"""
    run = "EXECUTE FUNCTION payments_merchant_label_day()"
    return [function,
            f"CREATE TRIGGER payments_label_day_insert AFTER INSERT ON payments_payment FOR EACH ROW "
            f"WHEN ({p['new_counted']}) {run}",
            f"CREATE TRIGGER payments_label_day_update {_WATCHED} WHEN ({p['changed']}) {run}",
            f"CREATE TRIGGER payments_label_day_delete AFTER DELETE ON payments_payment FOR EACH ROW "
            f"WHEN ({p['old_counted']}) {run}"]


def _sqlite() -> list[str]:
    p = _parts("sqlite")
    uncount = f"{_UNCOUNT.format(**p)} AND {p['old_counted']}"
    return [f"CREATE TRIGGER payments_label_day_insert AFTER INSERT ON payments_payment FOR EACH ROW "
            f"WHEN {p['new_counted']} BEGIN {_COUNT.format(**p)}; END",
            f"CREATE TRIGGER payments_label_day_update {_WATCHED} WHEN {p['changed']} "
            f"BEGIN {uncount}; {_COUNT.format(**p)}; END",
            f"CREATE TRIGGER payments_label_day_delete AFTER DELETE ON payments_payment FOR EACH ROW "
            f"WHEN {p['old_counted']} BEGIN {uncount}; END"]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _postgresql, "sqlite": _sqlite}[vendor]()
    statements.append(_BACKFILL.format(day=_DAY[vendor].format(row="p"), one=_ONE[vendor].format(row="p"),
                                       counted=_COUNTED.format(row="p")))
    for statement in statements:
        schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor):
    for trigger in _TRIGGERS:
        on = " ON payments_payment" if schema_editor.connection.vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}{on}", params=None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS payments_merchant_label_day()", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0015_one_created_index_and_partial_topup_wallet_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='MerchantLabelDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merchant_reference', models.CharField(max_length=120)),
                ('day', models.DateField()),
                ('labelled', models.IntegerField(default=0)),
                ('fraud', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('merchant_reference', 'day'), name='merchant_label_day_uniq')],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
