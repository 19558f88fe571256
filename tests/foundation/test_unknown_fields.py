"""Unknown input is an error, not a silent default (issue 10), and text fields take text.

As at Stripe, a body field or query parameter an operation does not declare is a 400
`validation_error` naming it, in every door (REST, MCP, and `invoke` for the admin console).
"""

import json

import pytest
from django.test import Client

from core.context import Actor
from core.errors import ValidationFailed
from core.models import IdempotencyRecord
from core.operations import get_operation, invoke
from mcp_gateway.models import ToolCall
from payments.models import Payment
from tests.factories import CustomerFactory
from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def fields_of(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:500])
    error = response.json()["error"]
    assert error["code"] == "validation_error", error
    return error["details"]["fields"]


@pytest.fixture
def wallet(customer):
    return services.wallet_create(actor=Actor.system("tests"), customer_id=customer.pk, currency="USD")


def payment_body(customer, **extra):
    return {"amount": "10.00", "currency": "USD", "customer_id": customer.pk, "payment_method": "tok_visa", **extra}


def test_a_misspelt_body_field_is_refused_and_nothing_is_charged(api, customer, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    response = api.post("/api/v1/payments", payment_body(customer, capture_metod="manual"), format="json",
                        HTTP_IDEMPOTENCY_KEY="typo-1")
    assert fields_of(response) == {"capture_metod": ["Unknown field."]}
    assert Payment.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
    # Corrected, the same key runs (a 400 validation error is not stored).
    fixed = api.post("/api/v1/payments", payment_body(customer, capture_method="manual"), format="json",
                     HTTP_IDEMPOTENCY_KEY="typo-1")
    assert fixed.status_code == 201 and fixed.json()["status"] == "requires_capture"


def test_every_unknown_body_field_is_named(api, wallet):
    response = api.post(f"/api/v1/wallets/{wallet.pk}/freeze", {"reason": "x", "reasn": "y", "force": True},
                        format="json")
    assert fields_of(response) == {"reasn": ["Unknown field."], "force": ["Unknown field."]}
    wallet.refresh_from_db()
    assert wallet.status == "active"


@pytest.mark.parametrize(("path", "param"), [
    ("/api/v1/invoices", "subscriptoin_id"), ("/api/v1/wallets", "curency"), ("/api/v1/payments", "customer"),
    ("/api/v1/customers", "emial"), ("/api/v1/plans", "activ"), ("/api/v1/subscriptions", "state"),
])
def test_a_misspelt_query_parameter_is_refused_instead_of_listing_everything(api, wallet, path, param):
    assert fields_of(api.get(f"{path}?{param}=x")) == {param: ["Unknown field."]}


def test_unknown_query_parameter_on_a_retrieve(api, wallet):
    assert fields_of(api.get(f"/api/v1/wallets/{wallet.pk}?expand=account")) == {"expand": ["Unknown field."]}
    assert api.get(f"/api/v1/wallets/{wallet.pk}").status_code == 200


def test_the_path_id_may_not_be_given_again_in_the_body_or_query(api, wallet, customer):
    other = CustomerFactory()
    second = services.wallet_create(actor=Actor.system("tests"), customer_id=other.pk, currency="USD")
    response = api.post(f"/api/v1/wallets/{wallet.pk}/freeze", {"wallet_id": second.pk}, format="json")
    assert list(fields_of(response)) == ["wallet_id"]
    assert list(fields_of(api.get(f"/api/v1/wallets/{wallet.pk}?wallet_id={second.pk}"))) == ["wallet_id"]
    assert set(Wallet.objects.values_list("status", flat=True)) == {"active"}


def test_known_parameters_still_work(api, wallet, customer):
    listed = api.get(f"/api/v1/wallets?customer_id={customer.pk}&currency=usd&limit=5&status=active")
    assert listed.status_code == 200 and [w["id"] for w in listed.json()["data"]] == [wallet.pk]


@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/wallets", "/api/v1/plans"])
def test_an_unsupported_currency_filter_is_unsupported_currency_in_every_list(api, path):
    response = api.get(f"{path}?currency=xxx")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "unsupported_currency"


def test_invoke_refuses_unknown_fields_for_the_admin_door_too(make_staff):
    staff = make_staff("admin")
    with pytest.raises(ValidationFailed) as exc:
        invoke(get_operation("list_wallets"), actor=Actor.for_user(staff), data={"curency": "EUR"})
    assert exc.value.details == {"fields": {"curency": ["Unknown field."]}}
    with pytest.raises(ValidationFailed) as exc:
        invoke(get_operation("get_subscription_analytics"), actor=Actor.for_user(staff), data={"month": 3})
    assert exc.value.details == {"fields": {"month": ["Unknown field."]}}


# --- strings are strings -------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["-1.1e89", "5", "0", "12.5", "true"])
def test_a_number_where_text_is_expected_is_a_validation_error(api, wallet, raw):
    text = '{"reason": ' + raw + '}'
    response = api.generic("POST", f"/api/v1/wallets/{wallet.pk}/freeze", text, content_type="application/json")
    assert fields_of(response) == {"reason": ["Not a valid string."]}
    wallet.refresh_from_db()
    assert wallet.status == "active"


@pytest.mark.parametrize(("field", "value"), [
    ("description", 5), ("customer_id", 12345), ("payment_method", 1.5), ("device_id", 7),
    ("merchant_reference", 10), ("currency", 840),
])
def test_payment_text_fields_refuse_numbers(api, customer, settings, field, value):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    response = api.post("/api/v1/payments", payment_body(customer, **{field: value}), format="json")
    assert list(fields_of(response)) == [field]
    assert Payment.objects.count() == 0


def test_customer_fields_refuse_numbers_but_metadata_and_amounts_keep_numbers(api, customer, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    assert list(fields_of(api.post("/api/v1/customers", {"email": "a@example.com", "name": 42},
                                   format="json"))) == ["name"]
    made = api.post("/api/v1/payments", payment_body(customer, amount=12.5, metadata={"n": 3, "f": 1.25}),
                    format="json")
    assert made.status_code == 201, made.json()
    assert (made.json()["amount"], made.json()["metadata"]) == ("12.50", {"n": 3, "f": 1.25})


# --- MCP ------------------------------------------------------------------------------------


def _call(raw_key, tool, arguments):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    response = Client().post("/mcp/", data=json.dumps(body), content_type="application/json",
                             headers={"Authorization": f"Bearer {raw_key}", "Accept": "application/json",
                                      "MCP-Protocol-Version": "2025-11-25"})
    assert response.status_code == 200, response.content
    return response.json()["result"]


def test_mcp_refuses_unknown_arguments_at_call_time(make_key, customer, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    raw_key = make_key("*").raw_key
    result = _call(raw_key, "create_payment", {**payment_body(customer), "capture_metod": "manual",
                                               "idempotency_key": "mcp-typo"})
    assert result["isError"] is True
    error = result["structuredContent"]["error"]
    assert (error["code"], error["details"]["fields"]) == ("validation_error", {"capture_metod": ["Unknown argument."]})
    assert Payment.objects.count() == 0
    listed = _call(raw_key, "list_wallets", {"curency": "EUR"})
    assert listed["structuredContent"]["error"]["details"]["fields"] == {"curency": ["Unknown argument."]}


def test_mcp_keeps_accepting_idempotency_key_and_dry_run(make_key, customer, wallet, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    raw_key = make_key("*").raw_key
    made = _call(raw_key, "create_payment", {**payment_body(customer), "idempotency_key": "mcp-ok"})
    assert not made.get("isError"), made
    assert made["structuredContent"]["status"] == "succeeded"
    dry = _call(raw_key, "close_wallet", {"wallet_id": wallet.pk, "reason": "check", "idempotency_key": "c-1",
                                          "dry_run": True})
    assert not dry.get("isError"), dry
    assert (dry["structuredContent"]["dry_run"], dry["structuredContent"]["would_succeed"]) == (True, True)
    wallet.refresh_from_db()
    assert wallet.status == "active"
    assert ToolCall.objects.filter(tool="close_wallet", outcome=ToolCall.Outcome.DRY_RUN).count() == 1


def test_mcp_refuses_a_number_for_a_string_argument(make_key, wallet):
    result = _call(make_key("*").raw_key, "freeze_wallet", {"wallet_id": wallet.pk, "reason": -1.1e89,
                                                            "idempotency_key": "f-2"})
    assert result["isError"] is True
    assert list(result["structuredContent"]["error"]["details"]["fields"]) == ["reason"]
    wallet.refresh_from_db()
    assert wallet.status == "active"
