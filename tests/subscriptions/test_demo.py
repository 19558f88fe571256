import io
import random

import pytest

from subscriptions import demo
from subscriptions.models import BillingRun, Invoice, InvoiceAttempt, Plan, Subscription, SubscriptionEvent

pytestmark = pytest.mark.django_db


def test_demo_needs_the_accounts_customers():
    out = io.StringIO()
    demo.seed(rng=random.Random(5), stdout=out)
    assert "skipped" in out.getvalue() and Subscription.objects.count() == 0


def test_demo_history_is_made_by_billing_and_is_idempotent(monkeypatch):
    monkeypatch.setattr(demo, "SIGNUPS", 40)
    monkeypatch.setattr(demo, "DAYS", 240)
    from accounts import demo as accounts_demo

    accounts_demo.seed(rng=random.Random(1), stdout=io.StringIO())
    demo.seed(rng=random.Random(5), stdout=io.StringIO())
    counts = (Subscription.objects.count(), Invoice.objects.count(), BillingRun.objects.count())
    assert counts[0] == 40 and counts[2] == 120
    assert sorted(Plan.objects.filter(metadata={"demo": True}).values_list("name", flat=True)) == sorted(
        name for name, *_ in demo.PLANS)
    kinds = set(SubscriptionEvent.objects.values_list("kind", flat=True))
    assert {"created", "activated", "changed", "canceled"} <= kinds
    assert Invoice.objects.filter(billing_reason="subscription_cycle", status="paid").exists()
    assert InvoiceAttempt.objects.filter(status="failed").exists()
    out = io.StringIO()
    demo.seed(rng=random.Random(5), stdout=out)
    assert "already present" in out.getvalue()
    assert (Subscription.objects.count(), Invoice.objects.count(), BillingRun.objects.count()) == counts
    assert Plan.objects.count() == len(demo.PLANS)
