import re

import pytest

from core import ids as core_ids
from subscriptions import selectors, services
from subscriptions.models import DunningSettings, Invoice, InvoiceLine, Plan, Subscription
from tests.adminurls import admin_url

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def sub(actor, customer, make_plan, travel):
    travel(at(2026, 4, 1))
    plan = make_plan(amount=3000, name="Basic")
    return services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                        payment_method="tok_visa")


def test_plan_add_goes_through_the_service(staff_client):
    client = staff_client("operator")
    response = client.post("/admin/subscriptions/plan/add/", {
        "name": "Gold", "amount": "19.99", "currency": "EUR", "interval": "month", "interval_count": 1,
        "trial_days": 7})
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = Plan.objects.get()
    assert (plan.name, plan.amount, plan.currency, plan.trial_days) == ("Gold", 1999, "EUR", 7)
    bad = client.post("/admin/subscriptions/plan/add/", {
        "name": "Bad", "amount": "1.999", "currency": "EUR", "interval": "month", "interval_count": 1,
        "trial_days": 0})
    assert bad.status_code == 200 and Plan.objects.count() == 1


def test_subscription_pages_change_with_preview_and_actions(staff_client, sub, make_plan, travel):
    travel(at(2026, 4, 11))
    client = staff_client("operator")
    pro = make_plan(amount=6000, name="Pro")
    assert client.get("/admin/subscriptions/subscription/").status_code == 200
    assert sub.id in client.get(admin_url(sub)).content.decode()
    url = admin_url(sub, "change_plan")
    preview = client.post(url, {"plan": pro.id, "quantity": 1, "proration_behavior": "create_prorations",
                                "preview": "1"})
    body = preview.content.decode()
    assert preview.status_code == 200 and "-20.00 USD" in body and "40.00 USD" in body
    assert InvoiceLine.objects.filter(invoice__isnull=True).count() == 0
    applied = client.post(url, {"plan": pro.id, "quantity": 1, "proration_behavior": "create_prorations",
                                "apply": "1"})
    assert applied.status_code == 302
    assert Subscription.objects.get(pk=sub.pk).plan_id == pro.id
    response = client.post("/admin/subscriptions/subscription/", {"action": "pause", "_selected_action": [sub.id]})
    assert response.status_code == 302
    assert Subscription.objects.get(pk=sub.pk).status == "paused"


def test_support_cannot_change_plans(staff_client, sub, make_plan):
    client = staff_client("support")
    response = client.post(admin_url(sub, "change_plan"),
                           {"quantity": 3, "proration_behavior": "none", "apply": "1"})
    assert response.status_code == 403
    assert Subscription.objects.get(pk=sub.pk).quantity == 1


def test_invoice_read_only_with_printable_page_and_actions(staff_client, sub):
    client = staff_client("finance")
    invoice = Invoice.objects.get()
    page = client.get(admin_url(invoice))
    assert page.status_code == 200 and "INV-2026-000001" in page.content.decode()
    printable = client.get(admin_url(invoice, "print")).content.decode()
    assert "Invoice INV-2026-000001" in printable and "30.00" in printable
    response = client.post("/admin/subscriptions/invoice/", {"action": "void", "_selected_action": [invoice.id]})
    assert response.status_code == 302
    assert Invoice.objects.get().status == "paid"  # refused: a paid invoice cannot be voided


def test_dunning_settings_history(staff_client):
    client = staff_client("admin")
    for days in ("[1, 3, 7, 14]", "[2, 4]"):
        response = client.post("/admin/subscriptions/dunningsettings/add/", {
            "retry_days": days, "final_action": "canceled", "notify_customers": "on", "note": "x"})
        assert response.status_code == 302
    assert list(DunningSettings.objects.order_by("id").values_list("retry_days", flat=True)) == [[1, 3, 7, 14], [2, 4]]
    assert selectors.dunning_settings_get().retry_days == [2, 4]
    bad = client.post("/admin/subscriptions/dunningsettings/add/", {"retry_days": "[5, 1]", "final_action": "unpaid"})
    assert bad.status_code == 302 and DunningSettings.objects.count() == 2
    assert client.get("/admin/subscriptions/billingrun/").status_code == 200


def test_at_risk_page_says_when_history_is_too_short(staff_client):
    client = staff_client("admin")
    page = client.get("/admin/subscriptions/churnmodel/at-risk/")
    assert page.status_code == 200 and "Not enough subscription history" in page.content.decode()
    trained = client.post("/admin/subscriptions/churnmodel/at-risk/", follow=True)
    assert "Not enough history to train" in trained.content.decode()
    assert client.get("/admin/subscriptions/churnmodel/").status_code == 200


def test_admin_links_work_for_ids_the_admin_would_unescape(staff_client, actor, customer, make_plan, travel,
                                                             monkeypatch):
    # Every id made here starts with `3F` after its prefix, which the admin reads as an escaped `?`
    # unless the link escapes it; links built from the raw id lead to "not found".
    made = iter(range(10**6))
    monkeypatch.setattr(core_ids, "random_chars", lambda length: ("3F" + f"{next(made):022d}")[:length])
    travel(at(2026, 4, 1))
    plan = make_plan(amount=3000, name="Basic")
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id, payment_method="tok_visa")
    invoice = Invoice.objects.get()
    assert sub.id.startswith("sub_3F") and invoice.id.startswith("inv_3F")
    client = staff_client("operator")
    page = client.get(admin_url(sub)).content.decode()
    change_plan = re.search(r'href="([^"]+/change-plan/)"', page).group(1)
    applied = client.post(change_plan, {"quantity": 2, "proration_behavior": "none", "apply": "1"})
    assert (applied.status_code, applied["Location"]) == (302, admin_url(sub))
    assert client.get(applied["Location"]).status_code == 200
    assert Subscription.objects.get(pk=sub.pk).quantity == 2
    invoice_page = client.get(admin_url(invoice)).content.decode()
    printable = re.search(r'href="([^"]+/print/)"', invoice_page).group(1)
    assert invoice.number in client.get(printable).content.decode()
