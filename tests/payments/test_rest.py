import pytest

from payments.models import Payment, Refund

pytestmark = pytest.mark.django_db

PAYMENT_KEYS = {"id", "status", "amount", "currency", "customer_id", "method", "payment_method", "card",
                "capture_method", "amount_capturable", "amount_captured", "amount_refunded", "provider",
                "provider_reference", "failure_code", "failure_message", "risk", "metadata", "created", "updated"}


def body(customer, **overrides):
    data = {"amount": "100.00", "currency": "usd", "customer_id": customer.id, "method": "card",
            "payment_method": "tok_visa", "capture_method": "automatic", "description": "Order 1",
            "metadata": {"order": "A-1"}}
    data.update(overrides)
    return data


def test_create_renders_the_payment_object(api, customer, one_sandbox):
    response = api.post("/api/v1/payments", body(customer), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == PAYMENT_KEYS
    assert data["status"] == "succeeded"
    assert (data["amount"], data["currency"], data["amount_captured"], data["amount_capturable"],
            data["amount_refunded"]) == ("100.00", "USD", "100.00", "0.00", "0.00")
    assert data["card"] == {"brand": "visa", "country": "US", "last4": "4242"}
    assert data["risk"] == {"score": 5, "level": "normal", "decision": "allow", "model_version": "rules-1",
                            "reasons": [], "explanation": [], "rules_fired": []}
    assert data["failure_code"] is None and data["provider"] == "sandbox"
    assert data["id"].startswith("pay_") and data["created"].endswith("Z")
    assert api.get(f"/api/v1/payments/{data['id']}").json() == data


def test_decline_is_201_failed(api, customer, one_sandbox):
    response = api.post("/api/v1/payments", body(customer, payment_method="tok_decline_insufficient_funds"),
                        format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["failure_code"]) == ("failed", "insufficient_funds")


def test_jpy_and_kwd_amounts(api, customer, one_sandbox):
    jpy = api.post("/api/v1/payments", body(customer, amount="1500", currency="jpy"), format="json").json()
    kwd = api.post("/api/v1/payments", body(customer, amount=1.5, currency="KWD"), format="json").json()
    assert (jpy["amount"], jpy["amount_captured"]) == ("1500", "1500")
    assert (kwd["amount"], kwd["amount_captured"]) == ("1.500", "1.500")
    assert Payment.objects.get(pk=kwd["id"]).amount == 1500


@pytest.mark.parametrize(("field", "value"), [
    ("payment_method", "4242424242424242"),
    ("description", "card 4111 1111 1111 1111 please"),
    ("metadata", {"note": "5555-5555-5555-4444"}),
    ("metadata", {"4000056655665556": "x"}),
])
def test_card_numbers_are_refused(api, customer, one_sandbox, field, value):
    response = api.post("/api/v1/payments", body(customer, **{field: value}), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "raw_card_data_not_allowed"
    assert Payment.objects.count() == 0


@pytest.mark.parametrize(("overrides", "code"), [
    ({"amount": "0"}, "amount_not_positive"),
    ({"amount": "1.001"}, "amount_too_precise"),
    ({"amount": "abc"}, "invalid_amount"),
    ({"currency": "xyz"}, "unsupported_currency"),
    ({"method": "cheque"}, "validation_error"),
    ({"customer_id": "cus_nope"}, "not_found"),
])
def test_bad_input_changes_nothing(api, customer, one_sandbox, overrides, code):
    response = api.post("/api/v1/payments", body(customer, **overrides), format="json")
    assert response.json()["error"]["code"] == code
    assert Payment.objects.count() == 0


def test_capture_refund_and_get_refund(api, customer, one_sandbox):
    created = api.post("/api/v1/payments", body(customer, capture_method="manual"), format="json").json()
    assert created["status"] == "requires_capture"
    captured = api.post(f"/api/v1/payments/{created['id']}/capture", {"amount": "60.00"}, format="json")
    assert captured.status_code == 200
    assert (captured.json()["status"], captured.json()["amount_captured"]) == ("succeeded", "60.00")
    refund = api.post(f"/api/v1/payments/{created['id']}/refunds", {"amount": "10.50", "reason": "other",
                                                                    "note": "goodwill"}, format="json")
    assert refund.status_code == 201
    data = refund.json()
    assert (data["status"], data["amount"], data["reason"], data["note"]) == ("succeeded", "10.50", "other",
                                                                              "goodwill")
    assert api.get(f"/api/v1/refunds/{data['id']}").json() == data
    too_much = api.post(f"/api/v1/payments/{created['id']}/refunds", {"amount": "49.51"}, format="json")
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (422, "refund_exceeds_captured")
    assert api.get(f"/api/v1/payments/{created['id']}").json()["amount_refunded"] == "10.50"
    assert Refund.objects.count() == 1


def test_illegal_transitions_over_rest(api, customer, one_sandbox):
    paid = api.post("/api/v1/payments", body(customer), format="json").json()
    capture = api.post(f"/api/v1/payments/{paid['id']}/capture", {}, format="json")
    assert (capture.status_code, capture.json()["error"]["code"]) == (409, "payment_not_capturable")
    cancel = api.post(f"/api/v1/payments/{paid['id']}/cancel", {}, format="json")
    assert (cancel.status_code, cancel.json()["error"]["code"]) == (409, "invalid_state_transition")
    failed = api.post("/api/v1/payments", body(customer, payment_method="tok_decline_generic"), format="json").json()
    refund = api.post(f"/api/v1/payments/{failed['id']}/refunds", {}, format="json")
    assert (refund.status_code, refund.json()["error"]["code"]) == (409, "payment_not_refundable")
    assert api.get("/api/v1/payments/re_wrongprefix").status_code == 404
    assert api.get("/api/v1/refunds/pay_wrongprefix").status_code == 404


def test_list_filters_and_paging(api, customer, one_sandbox):
    ids = [api.post("/api/v1/payments", body(customer, payment_method=t), format="json").json()["id"]
           for t in ("tok_visa", "tok_decline_generic", "tok_mastercard")]
    listed = api.get("/api/v1/payments", {"limit": 2}).json()
    assert [p["id"] for p in listed["data"]] == [ids[2], ids[1]]
    assert listed["has_more"] is True
    rest = api.get("/api/v1/payments", {"limit": 2, "cursor": listed["next_cursor"]}).json()
    assert [p["id"] for p in rest["data"]] == [ids[0]] and rest["has_more"] is False
    failed = api.get("/api/v1/payments", {"status": "failed", "customer_id": customer.id}).json()
    assert [p["id"] for p in failed["data"]] == [ids[1]]
    assert api.get("/api/v1/payments", {"currency": "eur"}).json()["data"] == []
    assert len(api.get("/api/v1/payments", {"provider": "sandbox"}).json()["data"]) == 3


def test_idempotent_create_replays(api, customer, one_sandbox):
    first = api.post("/api/v1/payments", body(customer), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/payments", body(customer), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    other = api.post("/api/v1/payments", body(customer, amount="5"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reuse")
    assert Payment.objects.count() == 1


def test_support_role_cannot_refund(client_for, customer, one_sandbox, api):
    paid = api.post("/api/v1/payments", body(customer), format="json").json()
    support = client_for("*", role="support")
    response = support.post(f"/api/v1/payments/{paid['id']}/refunds", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    read_only = client_for("payments:read")
    assert read_only.post(f"/api/v1/payments/{paid['id']}/refunds", {}, format="json").status_code == 403
    assert Refund.objects.count() == 0


def test_cancel_and_verify_endpoints(api, customer, one_sandbox):
    held = api.post("/api/v1/payments", body(customer, capture_method="manual"), format="json").json()
    canceled = api.post(f"/api/v1/payments/{held['id']}/cancel/", {}, format="json")
    assert (canceled.status_code, canceled.json()["status"], canceled.json()["amount_capturable"]) == (
        200, "canceled", "0.00")
    unknown = api.post("/api/v1/payments", body(customer, payment_method="tok_timeout"), format="json").json()
    assert unknown["status"] == "unknown"
    verified = api.post(f"/api/v1/payments/{unknown['id']}/verify", {}, format="json", HTTP_IDEMPOTENCY_KEY="v1")
    assert (verified.status_code, verified.json()["status"], verified.json()["amount_captured"]) == (
        200, "succeeded", "100.00")


def test_card_number_is_not_logged(api, customer, one_sandbox, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    response = api.post("/api/v1/payments", body(customer, payment_method="4242 4242 4242 4242"), format="json")
    assert response.json()["error"] == {"code": "raw_card_data_not_allowed", "message": response.json()["error"][
        "message"], "details": {"field": "payment_method"}}
    assert "4242 4242" not in caplog.text and "4242424242424242" not in caplog.text
    assert "4242" not in str(response.json())
