import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from payments.models import Payment, Refund, RoutingRule
from tests.adminurls import admin_url

pytestmark = pytest.mark.django_db


def test_payment_pages_and_actions(staff_client, pay):
    client = staff_client("operator")
    paid = pay(amount=5_000)
    held = pay(amount=3_000, capture_method="manual")
    listing = client.get("/admin/payments/payment/", {"q": paid.id})
    assert listing.status_code == 200 and paid.id in listing.content.decode()
    assert client.get("/admin/payments/payment/", {"status__exact": "failed", "q": "nobody@x"}).status_code == 200
    page = client.get(admin_url(paid))
    body = page.content.decode()
    assert page.status_code == 200 and "payment_capture" in body and "payment.succeeded" in body
    refund_form = {"action": "refund_payment", "_selected_action": [paid.id], "_operation": "refund_payment",
                   "_token": "t" * 16, "amount": "12.34", "reason": "requested_by_customer", "note": "admin"}
    preview = client.post("/admin/payments/payment/", refund_form)
    assert preview.status_code == 200 and "Confirm: Refund" in preview.content.decode()
    assert Refund.objects.count() == 0  # a destructive operation runs only once confirmed
    response = client.post("/admin/payments/payment/", {**refund_form, "_confirm": "yes"})
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.note, refund.actor_type) == (1_234, "requested_by_customer",
                                                                              "admin", "user")
    client.post("/admin/payments/payment/", {"action": "capture_payment", "_selected_action": [held.id],
                                             "_operation": "capture_payment", "_token": "c" * 16, "amount": "",
                                             "_confirm": "yes"})
    assert Payment.objects.get(pk=held.id).amount_captured == 3_000


def test_support_cannot_refund_from_admin(staff_client, pay):
    paid = pay(amount=5_000)
    client = staff_client("support")
    response = client.post("/admin/payments/payment/", {
        "action": "refund_payment", "_selected_action": [paid.id], "_operation": "refund_payment",
        "_token": "t" * 16, "amount": "1.00", "reason": "other", "_confirm": "yes"})
    # Support has no payment action at all: the changelist ignores the post and shows the list.
    assert response.status_code == 200 and 'name="action"' not in response.content.decode()
    assert Refund.objects.count() == 0
    page = client.get(admin_url(paid))
    assert "/operation/refund_payment/" not in page.content.decode()
    url = reverse("admin:payments_payment_operation", args=[quote(paid.pk), "refund_payment"])
    assert client.get(url).status_code == 403


def test_routing_rule_edit_goes_through_service(staff_client, one_sandbox):
    client = staff_client("admin")
    response = client.post("/admin/payments/routingrule/add/", {
        "name": "usd cards", "priority": 1, "currency": "usd", "method": "card",
        "allowed_providers": '["sandbox"]', "disabled_providers": "[]", "learning": "on", "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.get()
    assert (rule.currency, rule.allowed_providers) == ("USD", ["sandbox"])
    client.post("/admin/payments/routingrule/add/", {
        "name": "bad", "priority": 1, "currency": "", "method": "", "allowed_providers": '["nope"]',
        "disabled_providers": "[]", "enabled": "on"})
    assert RoutingRule.objects.count() == 1


def test_webhook_retry_and_mismatch_resolve_actions(staff_client, pay, actor):
    from core import clock
    from payments.models import ReconciliationMismatch, WebhookEvent

    payment = pay(amount=1_000)
    event = WebhookEvent.objects.create(provider="sandbox", provider_event_id="e1", type="unknown.type",
                                        payload={}, status="failed", received_at=clock.now())
    mismatch = ReconciliationMismatch.objects.create(run_date=clock.today(), kind="status_mismatch",
                                                     payment=payment, subject=payment.id, created=clock.now())
    operator = staff_client("operator")
    operator.post("/admin/payments/reconciliationmismatch/", {"action": "resolve", "_selected_action": [mismatch.pk],
                                                              "note": "checked"})
    assert ReconciliationMismatch.objects.get().status == "open"  # operators may not resolve
    finance = staff_client("finance")
    finance.post("/admin/payments/reconciliationmismatch/", {"action": "resolve", "_selected_action": [mismatch.pk],
                                                             "note": "checked"})
    resolved = ReconciliationMismatch.objects.get()
    assert (resolved.status, resolved.resolution_note) == ("resolved", "checked")
    admin = staff_client("admin")
    assert admin.get("/admin/payments/webhookevent/").status_code == 200
    admin.post("/admin/payments/webhookevent/", {"action": "retry", "_selected_action": [event.pk]})
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("ignored", 1)
