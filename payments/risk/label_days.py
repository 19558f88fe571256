"""A check of the merchant label days that triggers keep (payments.MerchantLabelDay, migration payments 0016)
against the labelled payments themselves, counted here by the ORM, independently of the triggers' SQL.

The counts can only drift when payments are written with triggers off: a data-only restore with
`--disable-triggers`, or `session_replication_role = replica`. Migrating payments back to 0015 and forward again
recounts them (the migration counts every labelled payment while writes wait)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from payments.models import MerchantLabelDay, Payment


def label_day_drift() -> list[dict]:
    """Every (merchant, day) whose kept counts differ from the payments', as {merchant_reference, day, kept,
    counted}, each count a (labelled, fraud) pair; empty when they agree. Days counted down to nothing are
    equal to days without labels."""
    counted = {(row["merchant_reference"], row["day"]): (row["labelled"], row["fraud"]) for row in (
        Payment.objects.filter(fraud_label__isnull=False).exclude(merchant_reference="")
        .annotate(day=TruncDate("created", tzinfo=dt.UTC)).values("merchant_reference", "day")
        .annotate(labelled=Count("pk"), fraud=Count("pk", filter=Q(fraud_label=True))).order_by())}
    kept = {(row.merchant_reference, row.day): (row.labelled, row.fraud)
            for row in MerchantLabelDay.objects.exclude(labelled=0, fraud=0)}
    return [{"merchant_reference": merchant, "day": day.isoformat(), "kept": kept.get((merchant, day), (0, 0)),
             "counted": counted.get((merchant, day), (0, 0))}
            for merchant, day in sorted(kept.keys() | counted.keys())
            if kept.get((merchant, day)) != counted.get((merchant, day))]
