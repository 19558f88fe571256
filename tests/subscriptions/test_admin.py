import re

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core import ids as core_ids
from core.models import AuditEvent
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


def operation_url(obj, name):
    return reverse(f"admin:subscriptions_{obj._meta.model_name}_operation", args=[quote(obj.pk), name])


def test_subscription_change_is_the_update_operation_with_its_preview(staff_client, sub, make_plan, travel):
    travel(at(2026, 4, 11))
    client = staff_client("operator")
    pro = make_plan(amount=6000, name="Pro")
    assert client.get("/admin/subscriptions/subscription/").status_code == 200
    page = client.get(admin_url(sub)).content.decode()
    assert sub.id in page and operation_url(sub, "change_plan") in page
    # Buttons only where the operation applies: an active subscription cannot be resumed.
    assert operation_url(sub, "pause") in page and operation_url(sub, "resume") not in page
    form = {"_operation": "change_plan", "_token": "tok-" + "a" * 12, "plan_id": pro.id, "quantity": 1,
            "proration_behavior": "create_prorations"}
    preview = client.post(operation_url(sub, "change_plan"), form)
    body = preview.content.decode()
    # The operation's own preview: a credit for the unused 20 days of Basic, a charge for them on Pro.
    assert preview.status_code == 200 and "Confirm: Change plan or quantity" in body
    assert "Would succeed; afterwards: amount due 20.00 USD." in body
    assert InvoiceLine.objects.filter(invoice__isnull=True).count() == 0
    assert Subscription.objects.get(pk=sub.pk).plan_id == sub.plan_id
    applied = client.post(operation_url(sub, "change_plan"), {**form, "_confirm": "yes"})
    assert (applied.status_code, applied["Location"]) == (302, admin_url(sub))
    assert Subscription.objects.get(pk=sub.pk).plan_id == pro.id
    assert sorted(InvoiceLine.objects.filter(invoice__isnull=True).values_list("amount", flat=True)) == [-2000, 4000]
    assert AuditEvent.objects.filter(action="subscription.changed", object_id=sub.pk,
                                     actor_label=client.user.username).count() == 1


def test_a_list_action_without_inputs_runs_through_its_operation(staff_client, sub):
    client = staff_client("operator")
    response = client.post("/admin/subscriptions/subscription/", {"action": "pause", "_selected_action": [sub.id]})
    assert response.status_code == 302
    assert Subscription.objects.get(pk=sub.pk).status == "paused"
    assert AuditEvent.objects.filter(action="subscription.paused", object_id=sub.pk,
                                     actor_label=client.user.username).count() == 1


def test_support_cannot_change_plans(staff_client, sub, make_plan):
    client = staff_client("support")
    response = client.post(operation_url(sub, "change_plan"),
                           {"_operation": "change_plan", "_token": "tok-" + "b" * 12, "quantity": 3,
                            "proration_behavior": "none", "_confirm": "yes"})
    assert response.status_code == 403
    assert operation_url(sub, "change_plan") not in client.get(admin_url(sub)).content.decode()
    assert Subscription.objects.get(pk=sub.pk).quantity == 1


def test_invoice_read_only_with_printable_page_and_actions(staff_client, sub):
    client = staff_client("finance")
    invoice = Invoice.objects.get()
    page = client.get(admin_url(invoice))
    assert page.status_code == 200 and "INV-2026-000001" in page.content.decode()
    printable = client.get(admin_url(invoice, "print")).content.decode()
    assert "Invoice INV-2026-000001" in printable and "30.00" in printable
    # Voiding is destructive: the confirmation page says first that a paid invoice would be refused.
    selected = {"action": "void", "_selected_action": [invoice.id]}
    confirm = client.post("/admin/subscriptions/invoice/", selected)
    body = confirm.content.decode()
    assert confirm.status_code == 200 and "Would be refused" in body and "invalid_state_transition" in body
    done = client.post("/admin/subscriptions/invoice/", {**selected, "_operation": "void", "_token": "tok-" + "c" * 12,
                                                         "_confirm": "yes"})
    assert done.status_code == 302
    messages = [str(m) for m in done.wsgi_request._messages]
    assert any("invalid_state_transition" in m for m in messages), messages
    assert Invoice.objects.get().status == "paid"


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
    change_plan = re.search(r'href="([^"]+/operation/change_plan/)"', page).group(1)
    applied = client.post(change_plan, {"_operation": "change_plan", "_token": "tok-" + "d" * 12, "quantity": 2,
                                        "proration_behavior": "none", "_confirm": "yes"})
    assert (applied.status_code, applied["Location"]) == (302, admin_url(sub))
    assert client.get(applied["Location"]).status_code == 200
    assert Subscription.objects.get(pk=sub.pk).quantity == 2
    invoice_page = client.get(admin_url(invoice)).content.decode()
    printable = re.search(r'href="([^"]+/print/)"', invoice_page).group(1)
    assert invoice.number in client.get(printable).content.decode()
