"""Subscription tools through /mcp/: dry_run on update_subscription returns the proration preview."""

import pytest

from subscriptions.models import Invoice, InvoiceLine, Subscription
from tests.subscriptions.conftest import _sandbox, at, make_plan, travel  # noqa: F401

pytestmark = pytest.mark.django_db


def test_update_subscription_dry_run_returns_the_proration_lines_and_writes_nothing(mcp, customer, make_plan,  # noqa: F811
                                                                                     travel):  # noqa: F811
    travel(at(2026, 2, 1))
    basic, pro = make_plan(amount=3000, name="Basic"), make_plan(amount=6000, name="Pro")
    sub = mcp.ok("create_subscription", {"customer_id": customer.id, "plan_id": basic.id, "quantity": 1,
                                         "payment_method": "tok_visa", "idempotency_key": "create-1"})
    travel(at(2026, 2, 15))
    before = (Invoice.objects.count(), InvoiceLine.objects.count(), Subscription.objects.get(pk=sub["id"]).plan_id)

    preview = mcp.ok("update_subscription", {"subscription_id": sub["id"], "plan_id": pro.id,
                                             "proration_behavior": "always_invoice", "dry_run": True,
                                             "idempotency_key": "change-1"})

    assert (preview["dry_run"], preview["mode"], preview["would_succeed"], preview["error"]) == (
        True, "preview", True, None)
    result = preview["result"]
    assert (result["preview"], result["amount_due"], result["invoice_id"]) == (True, "15.00", None)
    assert [(line["amount"], line["proration"]) for line in result["lines"]] == [("-15.00", True), ("30.00", True)]
    assert (Invoice.objects.count(), InvoiceLine.objects.count(),
            Subscription.objects.get(pk=sub["id"]).plan_id) == before

    # The same key then really applies the change (a dry run stores no idempotent result).
    applied = mcp.ok("update_subscription", {"subscription_id": sub["id"], "plan_id": pro.id,
                                             "proration_behavior": "always_invoice", "idempotency_key": "change-1"})
    assert (applied["preview"], applied["subscription"]["plan_id"], applied["amount_due"]) == (False, pro.id, "15.00")


def test_update_subscription_dry_run_reports_a_refusal(mcp, customer, make_plan, travel):  # noqa: F811
    travel(at(2026, 2, 1))
    basic = make_plan(amount=3000, name="Basic")
    euro = make_plan(amount=3000, currency="EUR", name="Euro")
    sub = mcp.ok("create_subscription", {"customer_id": customer.id, "plan_id": basic.id,
                                         "payment_method": "tok_visa", "idempotency_key": "c"})
    preview = mcp.ok("update_subscription", {"subscription_id": sub["id"], "plan_id": euro.id, "dry_run": True,
                                             "idempotency_key": "x"})
    assert (preview["mode"], preview["would_succeed"], preview["error"]["code"]) == (
        "preview", False, "currency_mismatch")
    assert Subscription.objects.get(pk=sub["id"]).plan_id == basic.id
