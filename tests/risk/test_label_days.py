"""The merchant's label counts per day, kept by triggers on payments_payment (migration payments 0016), and the
fraud score's label features read from them: on SQLite and on PostgreSQL."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q

from payments.models import MerchantLabelDay, Payment
from payments.risk import RiskContext
from payments.risk.online import features_for
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DAY1 = dt.datetime(2025, 3, 1, 23, 59, 59, 999999, tzinfo=dt.UTC)  # the last microsecond of its UTC day
DAY2 = dt.datetime(2025, 3, 2, 0, 0, tzinfo=dt.UTC)  # the first of the next


def _payment(customer, merchant, at, label, **extra):
    return Payment(customer=customer, amount=1000, currency="USD", method="card", payment_method="tok_visa",
                   status="succeeded", merchant_reference=merchant, fraud_label=label, created=at, updated=at, **extra)


def _days():
    """The kept counts, without days counted down to nothing."""
    return {(d.merchant_reference, d.day.isoformat()): (d.labelled, d.fraud)
            for d in MerchantLabelDay.objects.all() if (d.labelled, d.fraud) != (0, 0)}


def _counted_from_payments():
    """The same counts from the payments themselves, the day taken in UTC."""
    out = {}
    for p in Payment.objects.filter(fraud_label__isnull=False).exclude(merchant_reference=""):
        key = (p.merchant_reference, p.created.astimezone(dt.UTC).date().isoformat())
        labelled, fraud = out.get(key, (0, 0))
        out[key] = (labelled + 1, fraud + int(p.fraud_label))
    return out


def test_every_way_a_label_is_written_keeps_the_days_counted():
    customer = CustomerFactory()
    a = _payment(customer, "m1", DAY1, True)
    a.save()
    Payment.objects.bulk_create([_payment(customer, "m1", DAY2, False), _payment(customer, "m1", DAY2, True),
                                 _payment(customer, "m2", DAY1, None), _payment(customer, "", DAY1, True)])
    assert _days() == {("m1", "2025-03-01"): (1, 1), ("m1", "2025-03-02"): (2, 1)}

    unlabelled = Payment.objects.get(merchant_reference="m2")
    unlabelled.fraud_label = False  # a review's outcome: the ORM's save
    unlabelled.save()
    Payment.objects.filter(pk=a.pk).update(fraud_label=False)  # relabelled: fraud to legitimate
    assert _days() == {("m1", "2025-03-01"): (1, 0), ("m1", "2025-03-02"): (2, 1), ("m2", "2025-03-01"): (1, 0)}

    Payment.objects.filter(pk=a.pk).update(created=DAY2)  # one microsecond later: the next day
    Payment.objects.filter(pk=unlabelled.pk).update(merchant_reference="m1")  # another merchant
    Payment.objects.filter(merchant_reference="m1", created=DAY2, fraud_label=True).update(fraud_label=None)
    assert _days() == {("m1", "2025-03-01"): (1, 0), ("m1", "2025-03-02"): (2, 0)}

    Payment.objects.filter(pk=a.pk).delete()
    assert _days() == {("m1", "2025-03-01"): (1, 0), ("m1", "2025-03-02"): (1, 0)} == _counted_from_payments()


def test_a_write_rolled_back_leaves_the_counts_as_they_were():
    customer = CustomerFactory()
    p = _payment(customer, "m1", DAY1, None)
    p.save()
    with pytest.raises(RuntimeError), transaction.atomic():
        Payment.objects.filter(pk=p.pk).update(fraud_label=True)
        assert _days() == {("m1", "2025-03-01"): (1, 1)}
        raise RuntimeError("the review failed half-way")
    assert _days() == {}
    assert MerchantLabelDay.objects.count() == 0


def test_raw_sql_writes_are_counted_too():
    customer = CustomerFactory()
    p = _payment(customer, "m3", DAY1, None)
    p.save()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_payment SET fraud_label = %s WHERE id = %s", [True, p.pk])
    assert _days() == {("m3", "2025-03-01"): (1, 1)}


def _ctx(customer, at, payment_id=None):
    return RiskContext(customer_id=customer.id, customer_status="active", amount=1000, currency="USD",
                       method="card", channel="web", device_id="", merchant_reference="m1", ip_country="US",
                       card_country="US", at=at, payment_id=payment_id)


def test_the_scores_label_counts_are_the_labelled_payments_older_than_the_delay_to_the_microsecond():
    """The label delay is 7 days: the counts hold a merchant's labelled payments created before the millisecond
    7 days before the score's (its first microsecond), whether their day is counted by the triggers or is the day
    the cutoff falls in, and never the payment being scored."""
    customer = CustomerFactory()
    cutoff = dt.datetime(2025, 3, 10, 15, 0, 0, 1000, tzinfo=dt.UTC)  # the score at cutoff + 7 days - 1 ms
    at = cutoff + dt.timedelta(days=7) - dt.timedelta(milliseconds=1)
    labelled = [
        (dt.datetime(2025, 2, 1, tzinfo=dt.UTC), True),  # an earlier day
        (dt.datetime(2025, 3, 9, 23, 59, 59, 999999, tzinfo=dt.UTC), False),  # the day before the cutoff's
        (dt.datetime(2025, 3, 10, 0, 0, tzinfo=dt.UTC), True),  # the cutoff's day, from its start
        (cutoff - dt.timedelta(microseconds=1), False),  # the cutoff's day, just before it
        (cutoff, True),  # at the cutoff: not older
        (dt.datetime(2025, 3, 11, tzinfo=dt.UTC), True),  # a later day
    ]
    payments = [_payment(customer, "m1", when, label) for when, label in labelled]
    payments.append(_payment(customer, "m2", dt.datetime(2025, 2, 1, tzinfo=dt.UTC), True))  # another merchant
    payments.append(_payment(customer, "m1", dt.datetime(2025, 2, 2, tzinfo=dt.UTC), None))  # unlabelled
    Payment.objects.bulk_create(payments)
    values = features_for(_ctx(customer, at))
    assert (values["merchant_labelled"], values["merchant_fraud_rate"]) == (4.0, (2 + 0.2) / (4 + 20))
    # A payment scored again, as of a moment after its own: left out, from a counted day or from the cutoff's.
    again = features_for(_ctx(customer, at, payment_id=payments[0].id))
    assert (again["merchant_labelled"], again["merchant_fraud_rate"]) == (3.0, (1 + 0.2) / (3 + 20))
    again = features_for(_ctx(customer, at, payment_id=payments[3].id))
    assert (again["merchant_labelled"], again["merchant_fraud_rate"]) == (3.0, (2 + 0.2) / (3 + 20))
    # What the counts hold, counted from the payments directly.
    direct = Payment.objects.filter(merchant_reference="m1", created__lt=cutoff).aggregate(
        labelled=Count("pk", filter=Q(fraud_label__isnull=False)), fraud=Count("pk", filter=Q(fraud_label=True)))
    assert direct == {"labelled": 4, "fraud": 2}


def test_the_check_finds_days_that_differ_from_the_payments_and_exits_1(capsys, settings):
    import json

    from django.core.management import call_command

    from payments.risk.label_days import label_day_drift

    # Days are UTC days whatever the site's zone: at UTC+14, DAY1 and DAY2 would both fall on 2 March.
    settings.TIME_ZONE = "Pacific/Kiritimati"
    customer = CustomerFactory()
    Payment.objects.bulk_create([_payment(customer, "m1", DAY1, True), _payment(customer, "m1", DAY2, False)])
    assert label_day_drift() == []
    call_command("fraud_label_days")
    assert json.loads(capsys.readouterr().out) == {"days_differing": 0, "differences": []}
    # As after a restore with triggers off: one day counted twice, one not counted at all.
    MerchantLabelDay.objects.filter(day=DAY1.date()).update(labelled=2)
    MerchantLabelDay.objects.filter(day=DAY2.date()).delete()
    expected = [{"merchant_reference": "m1", "day": "2025-03-01", "kept": (2, 1), "counted": (1, 1)},
                {"merchant_reference": "m1", "day": "2025-03-02", "kept": (0, 0), "counted": (1, 0)}]
    assert label_day_drift() == expected
    with pytest.raises(SystemExit) as exited:
        call_command("fraud_label_days")
    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out) == {
        "days_differing": 2, "differences": [{**d, "kept": list(d["kept"]), "counted": list(d["counted"])}
                                             for d in expected]}
