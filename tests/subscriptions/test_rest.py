import pytest

from core.operations import get_operation, invoke
from subscriptions.models import Invoice, InvoiceLine, Plan, Subscription

from .conftest import at

pytestmark = pytest.mark.django_db


def _plan(api, **overrides):
    body = {"name": "Team", "amount": "30.00", "currency": "usd", "interval": "month", "interval_count": 1,
            "trial_days": 0}
    body.update(overrides)
    response = api.post("/api/v1/plans", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_plan_create_list_archive(api):
    plan = _plan(api)
    assert {k: plan[k] for k in ("amount", "currency", "interval", "interval_count", "trial_days", "active")} == {
        "amount": "30.00", "currency": "USD", "interval": "month", "interval_count": 1, "trial_days": 0,
        "active": True}
    assert plan["id"].startswith("plan_")
    listed = api.get("/api/v1/plans").json()
    assert [p["id"] for p in listed["data"]] == [plan["id"]] and listed["has_more"] is False
    archived = api.post(f"/api/v1/plans/{plan['id']}/archive", {}, format="json")
    assert (archived.status_code, archived.json()["active"]) == (200, False)
    assert api.get("/api/v1/plans?active=true").json()["data"] == []


def test_plan_bad_amount_refused(api):
    response = api.post("/api/v1/plans", {"name": "x", "amount": "1.234", "currency": "usd", "interval": "month"},
                        format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "amount_too_precise")
    assert Plan.objects.count() == 0


@pytest.mark.parametrize("metadata", [{f"k{i}": "v" for i in range(51)}, {"k": "x" * 501}, {"k": {"nested": 1}}])
def test_plan_and_subscription_metadata_is_bounded_like_every_object(api, customer, metadata):
    response = api.post("/api/v1/plans", {"name": "x", "amount": "1.00", "currency": "usd", "interval": "month",
                                          "metadata": metadata}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")
    assert "metadata" in response.json()["error"]["details"]["fields"]
    plan = _plan(api)
    response = api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": plan["id"],
                                                  "payment_method": "tok_visa", "metadata": metadata}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")
    assert (Plan.objects.count(), Subscription.objects.count(), Invoice.objects.count()) == (1, 0, 0)


def test_subscription_flow_over_rest(api, customer, travel):
    travel(at(2026, 2, 1))
    basic, pro = _plan(api), _plan(api, name="Pro", amount="60.00")
    response = api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": basic["id"],
                                                  "quantity": 1, "payment_method": "tok_visa"}, format="json")
    assert response.status_code == 201, response.json()
    sub = response.json()
    assert (sub["status"], sub["current_period_start"], sub["current_period_end"], sub["currency"]) == (
        "active", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "USD")
    assert api.get(f"/api/v1/subscriptions/{sub['id']}").json() == sub
    travel(at(2026, 2, 15))
    preview = api.post(f"/api/v1/subscriptions/{sub['id']}/change",
                       {"plan_id": pro["id"], "proration_behavior": "always_invoice", "preview": True}, format="json")
    assert preview.status_code == 200, preview.json()
    data = preview.json()
    assert (data["preview"], data["amount_due"], data["invoice_id"]) == (True, "15.00", None)
    assert [(line["amount"], line["proration"]) for line in data["lines"]] == [("-15.00", True), ("30.00", True)]
    assert InvoiceLine.objects.filter(invoice__isnull=True).count() == 0 and Invoice.objects.count() == 1
    changed = api.post(f"/api/v1/subscriptions/{sub['id']}/change",
                       {"plan_id": pro["id"], "proration_behavior": "always_invoice"}, format="json").json()
    assert (changed["preview"], changed["subscription"]["plan_id"]) == (False, pro["id"])
    invoice = api.get(f"/api/v1/invoices/{changed['invoice_id']}").json()
    assert (invoice["status"], invoice["total"], invoice["amount_due"], invoice["number"]) == (
        "paid", "15.00", "0.00", "INV-2026-000002")
    listed = api.get(f"/api/v1/invoices?subscription_id={sub['id']}&status=paid").json()
    assert len(listed["data"]) == 2
    paused = api.post(f"/api/v1/subscriptions/{sub['id']}/pause", {}, format="json").json()
    assert paused["status"] == "paused"
    resumed = api.post(f"/api/v1/subscriptions/{sub['id']}/resume", {}, format="json").json()
    assert (resumed["status"], resumed["current_period_start"]) == ("active", "2026-02-15T00:00:00Z")
    canceled = api.post(f"/api/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": True}, format="json").json()
    assert (canceled["status"], canceled["cancel_at_period_end"]) == ("active", True)


def test_invoice_pay_void_and_uncollectible(api, customer, travel):
    travel(at(2026, 2, 1))
    plan = _plan(api)
    sub = api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": plan["id"],
                                             "payment_method": "tok_decline_generic"}, format="json").json()
    assert sub["status"] == "incomplete"
    invoice_id = Invoice.objects.get(subscription_id=sub["id"]).id
    paid = api.post(f"/api/v1/invoices/{invoice_id}/pay", {}, format="json")
    assert (paid.status_code, paid.json()["status"], paid.json()["attempt_count"],
            paid.json()["last_failure_code"]) == (200, "open", 2, "card_declined")
    marked = api.post(f"/api/v1/invoices/{invoice_id}/mark-uncollectible", {}, format="json").json()
    assert marked["status"] == "uncollectible"
    voided = api.post(f"/api/v1/invoices/{invoice_id}/void", {}, format="json").json()
    assert voided["status"] == "void"
    again = api.post(f"/api/v1/invoices/{invoice_id}/void", {}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_state_transition")


def test_wrong_prefix_is_404_and_validation_errors(api, customer):
    assert api.get("/api/v1/subscriptions/pay_123").status_code == 404
    assert api.get("/api/v1/invoices/sub_123").status_code == 404
    response = api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": "plan_x",
                                                  "quantity": 0}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")
    assert Subscription.objects.count() == 0


def test_read_scope_cannot_write(client_for):
    client = client_for(scopes="subscriptions:read")
    assert client.get("/api/v1/plans").status_code == 200
    response = client.post("/api/v1/plans", {"name": "x", "amount": "1", "currency": "usd", "interval": "month"},
                           format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")


def test_mcp_operation_table_and_preview(actor, customer, make_plan, travel):
    names = {"list_plans", "create_subscription", "update_subscription", "cancel_subscription",
             "get_subscription_analytics"}
    ops = {name: get_operation(name) for name in names}
    assert set(ops["update_subscription"].input().fields) == {"subscription_id", "plan_id", "quantity",
                                                               "proration_behavior", "preview"}
    assert set(ops["cancel_subscription"].input().fields) == {"subscription_id", "at_period_end"}
    assert ops["update_subscription"].destructive and ops["update_subscription"].preview is not None
    from subscriptions import services

    travel(at(2026, 4, 1))
    basic, pro = make_plan(amount=3000), make_plan(amount=6000)
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=basic.id,
                                       payment_method="tok_visa")
    travel(at(2026, 4, 11))
    result = ops["update_subscription"].preview(actor=actor, subscription_id=sub.id, plan_id=pro.id,
                                                proration_behavior="create_prorations")
    rendered = ops["update_subscription"].render(result)
    assert (rendered["preview"], rendered["amount_due"]) == (True, "20.00")
    assert InvoiceLine.objects.filter(invoice__isnull=True).count() == 0


def test_analytics_endpoint(api, customer, travel):
    travel(at(2026, 2, 1))
    plan = _plan(api)
    api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": plan["id"], "quantity": 2,
                                       "payment_method": "tok_visa"}, format="json")
    data = api.get("/api/v1/analytics/subscriptions?months=1").json()
    assert data["mrr"] == [{"currency": "USD", "mrr": "60.00", "arr": "720.00", "arpu": "60.00",
                            "paying_customers": 1}]
    assert invoke(get_operation("get_subscription_analytics"), actor=_system(), data={"months": 1}).body == data


def _system():
    from core.context import Actor

    return Actor.system("tests")


def test_finalize_refuses_a_final_invoice_and_changes_nothing(api, customer, travel):
    travel(at(2026, 2, 1))
    plan = _plan(api)
    sub = api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": plan["id"],
                                             "payment_method": "tok_visa"}, format="json").json()
    invoice = Invoice.objects.get(subscription_id=sub["id"])
    response = api.post(f"/api/v1/invoices/{invoice.id}/finalize", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_state_transition")
    again = Invoice.objects.get(pk=invoice.pk)
    assert (again.number, again.status, again.updated) == (invoice.number, "paid", invoice.updated)


def test_change_preview_with_bad_input_is_refused(api, customer, travel):
    travel(at(2026, 2, 1))
    plan = _plan(api)
    eur = _plan(api, currency="eur", name="EUR")
    sub = api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": plan["id"],
                                             "payment_method": "tok_visa"}, format="json").json()
    response = api.post(f"/api/v1/subscriptions/{sub['id']}/change", {"plan_id": eur["id"], "preview": True},
                        format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "currency_mismatch")
    assert Subscription.objects.get(pk=sub["id"]).plan_id == plan["id"]


def test_finalize_numbers_and_opens_a_draft(api, customer, travel):
    from core.models import AuditEvent

    travel(at(2026, 2, 1))
    plan = _plan(api)
    sub = api.post("/api/v1/subscriptions", {"customer_id": customer.id, "plan_id": plan["id"],
                                             "payment_method": "tok_visa"}, format="json").json()
    first = Invoice.objects.get(subscription_id=sub["id"])
    travel(at(2026, 2, 3))
    draft = Invoice.objects.create(subscription_id=sub["id"], customer=customer, status="draft",
                                   billing_reason="subscription_update", currency="USD",
                                   period_start=at(2026, 2, 1), period_end=at(2026, 3, 1), subtotal=1500, total=1500,
                                   created=at(2026, 2, 2), updated=at(2026, 2, 2))
    response = api.post(f"/api/v1/invoices/{draft.id}/finalize", {}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["number"], body["status"]) == ("INV-2026-000002", "open")
    assert first.number == "INV-2026-000001"
    draft.refresh_from_db()
    assert (draft.status, draft.finalized_at, draft.due_date, draft.paid_at, draft.next_payment_attempt) == (
        "open", at(2026, 2, 3), at(2026, 2, 3), None, None)
    event = AuditEvent.objects.get(action="invoice.finalized", object_id=draft.id)
    assert event.details == {"number": "INV-2026-000002", "total": 1500, "currency": "USD"}
