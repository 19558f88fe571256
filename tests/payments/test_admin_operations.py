"""The admin as a door of the operations table (core.admin_ops), shown on the payment admin."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core.audit import AuditEvent
from payments.models import Payment, Refund

pytestmark = pytest.mark.django_db


def operation_url(payment, name):
    return reverse("admin:payments_payment_operation", args=[quote(payment.pk), name])


def change_url(payment):
    return reverse("admin:payments_payment_change", args=[quote(payment.pk)])


def test_change_page_offers_a_button_per_operation_the_role_may_call_where_it_applies(staff_client, pay):
    paid, held = pay(amount=5_000), pay(amount=5_000, capture_method="manual")
    operator = staff_client("operator")
    paid_page = operator.get(change_url(paid)).content.decode()
    held_page = operator.get(change_url(held)).content.decode()
    offered = {name: (operation_url(paid, name) in paid_page, operation_url(held, name) in held_page)
               for name in ("capture_payment", "cancel_payment", "refund_payment", "verify_payment")}
    assert offered == {"capture_payment": (False, True), "cancel_payment": (False, True),
                       "refund_payment": (True, False), "verify_payment": (True, True)}
    auditor_page = staff_client("auditor").get(change_url(paid)).content.decode()
    assert "/operation/" not in auditor_page


def test_what_staff_read_is_money_with_its_currency_and_words_not_codes(staff_client, pay):
    paid = pay(amount=5_000)
    client = staff_client("operator")
    page = client.get(operation_url(paid, "refund_payment")).content.decode()
    assert "Errors:" not in page and "payment_not_refundable" not in page
    form = {"_operation": "refund_payment", "_token": "tok-" + "d" * 12, "amount": "12.34",
            "reason": "requested_by_customer"}
    body = client.post(operation_url(paid, "refund_payment"), form).content.decode()
    assert "Calls the provider" in body and "{" not in body.split('class="bo-previews"')[1].split("</ul>")[0]
    assert "<dt>Amount</dt><dd>12.34 USD</dd>" in body
    assert "<dt>Reason</dt><dd>Requested By Customer</dd>" in body  # the choice's label, not its code
    assert Refund.objects.count() == 0


def test_the_form_comes_from_the_operation_input_and_a_get_changes_nothing(staff_client, pay):
    paid = pay(amount=5_000)
    page = staff_client("operator").get(operation_url(paid, "refund_payment"))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="amount"' in body and 'name="reason"' in body and 'name="note"' in body
    assert 'name="payment_id"' not in body  # the object itself names the payment
    assert 'value="Preview"' in body  # destructive: a preview comes before anything runs
    assert Refund.objects.count() == 0


def test_a_destructive_operation_previews_then_runs_once_as_the_staff_member(staff_client, pay):
    paid = pay(amount=5_000)
    client = staff_client("operator")
    form = {"_operation": "refund_payment", "_token": "tok-" + "a" * 12, "amount": "12.34",
            "reason": "requested_by_customer", "note": "asked by phone"}
    preview = client.post(operation_url(paid, "refund_payment"), form)
    body = preview.content.decode()
    assert preview.status_code == 200 and "Confirm: Refund" in body and "Calls the provider" in body
    assert Refund.objects.count() == 0
    done = client.post(operation_url(paid, "refund_payment"), {**form, "_confirm": "yes"})
    assert (done.status_code, done["Location"]) == (302, change_url(paid))
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.note, refund.actor_type, refund.actor_label) == (
        1_234, "requested_by_customer", "asked by phone", "user", client.user.username)
    # The same form submitted twice (a double click, a reload) replays instead of refunding again.
    again = client.post(operation_url(paid, "refund_payment"), {**form, "_confirm": "yes"})
    assert again.status_code == 302 and Refund.objects.count() == 1
    assert AuditEvent.objects.filter(action="refund.created", object_id=refund.pk).count() == 1


def test_a_refusal_is_shown_on_the_form_with_the_api_code_and_nothing_changes(staff_client, pay):
    paid = pay(amount=5_000)
    client = staff_client("operator")
    form = {"_operation": "refund_payment", "_token": "tok-" + "b" * 12, "amount": "12.345",
            "reason": "other", "_confirm": "yes"}
    page = client.post(operation_url(paid, "refund_payment"), form)
    body = page.content.decode()
    assert page.status_code == 200 and "USD amounts have at most 2 decimal places." in body
    too_much = client.post(operation_url(paid, "refund_payment"),
                           {**form, "_token": "tok-" + "c" * 12, "amount": "50.01"})
    assert too_much.status_code == 302
    messages = [str(m) for m in too_much.wsgi_request._messages]
    assert any("refund_exceeds_captured" in m for m in messages), messages
    assert Refund.objects.count() == 0
    assert Payment.objects.get(pk=paid.pk).amount_refunded == 0


def test_a_list_action_without_inputs_runs_at_once_for_each_selected_object(staff_client, pay):
    first, second = pay(amount=1_000), pay(amount=2_000)
    client = staff_client("operator")
    response = client.post("/admin/payments/payment/", {"action": "verify_payment", "index": 0,
                                                        "_selected_action": [first.pk, second.pk]})
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Verify with the provider: 2 done."]
    assert AuditEvent.objects.filter(action="payment.verified").count() == 2


def test_posted_fields_outside_the_form_never_reach_the_operation(staff_client, pay):
    paid = pay(amount=5_000)
    client = staff_client("operator")
    client.post(operation_url(paid, "refund_payment"), {
        "_operation": "refund_payment", "_token": "tok-" + "d" * 12, "amount": "1.00", "reason": "other",
        "payment_id": "pay_someoneelse", "metadata": "{}", "_confirm": "yes"})
    assert Refund.objects.get().payment_id == paid.pk


def test_states_and_results_read_as_words_and_money():
    from core.admin_ops import readable_state

    assert readable_state({"id": "pay_1", "status": "requires_capture", "amount": "10.00", "currency": "USD",
                           "amount_capturable": "10.00", "metadata": {}}) == (
        "status requires capture, amount 10.00 USD, amount capturable 10.00 USD")
    assert readable_state({"balance": "1500", "currency": "JPY"}) == "balance 1500 JPY"
    assert readable_state({}) == ""
