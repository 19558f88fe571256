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
    resolve = {"action": "resolve", "_selected_action": [mismatch.pk], "_operation": "resolve",
               "_token": "r" * 16, "note": "checked"}
    operator = staff_client("operator")
    refused = operator.post("/admin/payments/reconciliationmismatch/", resolve)
    # Operators have no resolve action: the changelist ignores the post.
    assert refused.status_code == 200 and ReconciliationMismatch.objects.get().status == "open"
    finance = staff_client("finance")
    form = finance.post("/admin/payments/reconciliationmismatch/", {"action": "resolve",
                                                                    "_selected_action": [mismatch.pk]})
    assert form.status_code == 200 and 'name="note"' in form.content.decode()  # the operation's form first
    assert ReconciliationMismatch.objects.get().status == "open"
    done = finance.post("/admin/payments/reconciliationmismatch/", resolve)
    assert done.status_code == 302
    resolved = ReconciliationMismatch.objects.get()
    assert (resolved.status, resolved.resolution_note, resolved.resolved_by) == ("resolved", "checked",
                                                                                 finance.user.username)
    again = finance.post("/admin/payments/reconciliationmismatch/", {**resolve, "_token": "s" * 16})
    assert [str(m) for m in again.wsgi_request._messages][-1].endswith(
        "The mismatch is already resolved. (invalid_state_transition)")
    admin = staff_client("admin")
    assert admin.get("/admin/payments/webhookevent/").status_code == 200
    retried = admin.post("/admin/payments/webhookevent/", {"action": "retry", "_selected_action": [event.pk]})
    assert [str(m) for m in retried.wsgi_request._messages] == ["Retry applying: 1 done."]
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("ignored", 1)


def test_risk_review_from_the_admin_is_the_review_operation(staff_client, pay):
    from core.audit import AuditEvent

    # 10,000.00 by mail order scores 70: held for review.
    held, other = pay(amount=1_000_000, channel="moto"), pay(amount=1_000_000, channel="moto")
    assert (held.status, held.review_status) == ("requires_capture", "pending")
    url = reverse("admin:payments_payment_operation", args=[quote(held.pk), "approve_review"])
    assert staff_client("operator").get(url).status_code == 403  # operators do not review
    operator = staff_client("risk_analyst")
    page = operator.get(url)
    assert page.status_code == 200 and 'name="note"' in page.content.decode()
    assert 'name="decision"' not in page.content.decode()  # fixed by the action
    form = {"_operation": "approve_review", "_token": "v" * 16, "note": "looks fine"}
    preview = operator.post(url, form)
    assert "Confirm" in preview.content.decode() and Payment.objects.get(pk=held.pk).review_status == "pending"
    operator.post(url, {**form, "_confirm": "yes"})
    approved = Payment.objects.get(pk=held.pk)
    assert (approved.review_status, approved.status, approved.amount_captured) == ("approved", "succeeded",
                                                                                   1_000_000)
    event = AuditEvent.objects.get(action="payment.review_approved", object_id=held.pk)
    assert (event.actor_label, event.details) == (operator.user.username, {"note": "looks fine"})
    operator.post("/admin/payments/payment/", {"action": "reject_review", "_selected_action": [other.pk],
                                               "_operation": "reject_review", "_token": "w" * 16,
                                               "_confirm": "yes"})
    rejected = Payment.objects.get(pk=other.pk)
    assert (rejected.review_status, rejected.status) == ("rejected", "canceled")
    support = staff_client("support")
    assert support.get(url).status_code == 403
