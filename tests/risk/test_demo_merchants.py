"""The demo's payments are made at a realistic set of merchants (a few large, many small), and a second
run still makes nothing twice (the demo number lives in metadata, not in merchant_reference)."""

import io
import random
from collections import Counter

from accounts import demo as accounts_demo
from payments import demo
from payments.models import Payment
from payments.risk import demo as risk_demo


def test_demo_payments_spread_over_25_merchants_and_a_second_run_adds_none(roles, one_sandbox, monkeypatch):
    monkeypatch.setattr(demo, "PAYMENT_COUNT", 300)
    monkeypatch.setattr(demo, "WALLET_PAYMENTS", 0)
    monkeypatch.setattr(risk_demo, "CUSTOMERS", 80)  # a smaller model: this test is about merchants
    monkeypatch.setattr(risk_demo, "DAYS", 90)
    accounts_demo.seed(rng=random.Random("20261126:accounts"), stdout=io.StringIO())
    demo.seed(rng=random.Random("20261126:payments"), stdout=io.StringIO())
    payments = list(Payment.objects.values_list("merchant_reference", "metadata"))
    assert len(payments) == 300
    assert sorted(p[1]["demo_ref"] for p in payments) == [f"demo-{i:05d}" for i in range(300)]
    by_merchant = Counter(p[0] for p in payments)
    assert set(by_merchant) <= set(demo.MERCHANTS) and len(by_merchant) == 24  # of 300, one small one missing
    # Skewed: the largest merchant has more than a quarter of the payments, the smallest one or two.
    assert by_merchant.most_common(3) == [("northwind-grocers", 85), ("bluebird-books", 42),
                                          ("cobalt-electronics", 25)]
    assert sorted(by_merchant.values())[:2] == [1, 1]
    out = io.StringIO()
    demo.seed(rng=random.Random("20261126:payments"), stdout=out)
    assert Payment.objects.count() == 300
    assert "0 created" in out.getvalue() and "300 already there" in out.getvalue()
