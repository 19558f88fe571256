"""Hostile or malformed input never stalls a worker or ends in a 500 (issue 10, items 1-4).

Amounts: only plain ASCII decimal strings and JSON numbers without an exponent are amounts,
checked before any arithmetic. JSON bodies: numbers keep their text, nesting is bounded.
Dates: outside 2000-01-01 .. 2100-12-31 they are a validation error, not an OverflowError.
"""

import json
import time

import pytest
from django.test import Client

from core import money
from core.context import Actor
from core.jsonparse import MAX_DEPTH
from core.models import IdempotencyRecord
from core.money import parse_amount
from payments.models import Payment, Refund
from payments.services import payment_create
from subscriptions.models import Plan
from tests.factories import CustomerFactory
from tests.wallets_setup import open_wallet
from wallets import services
from wallets.models import JournalEntry, Wallet

pytestmark = pytest.mark.django_db

HUGE = ["1e999999999", "1e999998", "9e999999", "1E5", "1e-999999999", "-1e999999999", "1e+3", "1e3"]


# --- core.money.parse_amount ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "currency"), [
    ("1e999997", "USD"), ("9e999999", "JPY"), ("1e999999999", "USD"), ("1e999998", "USD"),
    ("1" + "0" * 1_000_000, "USD"), ("0." + "0" * 1_000_000 + "1", "JPY"), ("1e-999999999", "USD"),
    ("-1e999999999", "USD"),
])
def test_enormous_amounts_are_refused_at_once(value, currency):
    started = time.perf_counter()
    with pytest.raises(money.DomainError) as exc:
        parse_amount(value, currency, allow_negative=True)
    assert time.perf_counter() - started < 0.5
    assert exc.value.code in ("invalid_amount", "amount_too_precise")
    assert exc.value.status == 400


@pytest.mark.parametrize("value", ["1e3", "1E3", "1e+3", "1e-2", "1e999999999", "1e-999999999", "-1e999999999",
                                   "\u0661\u0662", "\uff11\uff12", "1_000", " 1.00 ", "1.00 ", "\t1", "+1",
                                   "1.", ".5", "0x10", "1,000", "1 000", "\u0967", "12\u00a0", "１.00"])
def test_only_plain_ascii_decimals_are_amounts(value):
    with pytest.raises(money.InvalidAmount) as exc:
        parse_amount(value, "USD", allow_negative=True)
    assert (exc.value.code, exc.value.details) == ("invalid_amount", {"field": "amount"})


@pytest.mark.parametrize(("value", "currency", "code"), [
    ("1" * 17, "JPY", "invalid_amount"), ("1" * 15, "USD", "invalid_amount"), ("10000000000000.01", "USD",
                                                                            "invalid_amount"),
    ("0.001", "USD", "amount_too_precise"), ("0." + "0" * 5000 + "1", "USD", "amount_too_precise"),
    ("0", "USD", "amount_not_positive"), ("-0.01", "USD", "amount_not_positive"),
    ("0." + "0" * 5000, "USD", "amount_not_positive"),
])
def test_each_refusal_keeps_its_meaning(value, currency, code):
    with pytest.raises(money.DomainError) as exc:
        parse_amount(value, currency)
    assert exc.value.code == code


@pytest.mark.parametrize(("value", "currency", "expected"), [
    ("0000000000000000000012.50", "USD", 1250), ("12.5000000000000000000000", "USD", 1250),
    ("10000000000000.00", "USD", 10**15), ("1000000000000000", "JPY", 10**15), ("-3.5", "KWD", -3500),
])
def test_plain_decimals_with_leading_and_trailing_zeros_still_parse(value, currency, expected):
    assert parse_amount(value, currency, allow_negative=True) == expected


# --- the REST door: every operation that takes an amount -------------------------------------


def _wallet(customer, currency="USD", balance=0):
    return open_wallet(actor=Actor.system("tests"), customer=customer, currency=currency, balance=balance)


@pytest.fixture
def world(settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    customer = CustomerFactory()
    usd, eur, other = _wallet(customer, "USD", 10_000), _wallet(customer, "EUR"), _wallet(CustomerFactory(), "USD")
    actor = Actor.system("tests")
    manual = payment_create(actor=actor, amount=5000, currency="USD", customer_id=customer.pk, method="card",
                            payment_method="tok_visa", capture_method="manual")
    captured = payment_create(actor=actor, amount=5000, currency="USD", customer_id=customer.pk, method="card",
                              payment_method="tok_visa", capture_method="automatic")
    return {"customer": customer, "usd": usd, "eur": eur, "other": other, "manual": manual, "captured": captured}


def _amount_calls(w):
    """(path, body without amount) of every REST write that parses an amount."""
    return {
        "payment": ("/api/v1/payments", {"currency": "USD", "customer_id": w["customer"].pk,
                                         "payment_method": "tok_visa"}),
        "top-up": (f"/api/v1/wallets/{w['usd'].pk}/top-ups", {"payment_method": "tok_visa"}),
        "transfer": ("/api/v1/transfers", {"from_wallet_id": w["usd"].pk, "to_wallet_id": w["other"].pk,
                                           "currency": "USD"}),
        "refund": (f"/api/v1/payments/{w['captured'].pk}/refunds", {}),
        "capture": (f"/api/v1/payments/{w['manual'].pk}/capture", {}),
        "plan": ("/api/v1/plans", {"name": "Gold", "currency": "USD", "interval": "month"}),
        "adjustment": (f"/api/v1/wallets/{w['usd'].pk}/adjustments", {"reason": "fix"}),
        "withdrawal": (f"/api/v1/wallets/{w['usd'].pk}/withdrawals", {}),
        "conversion": ("/api/v1/conversions", {"from_wallet_id": w["usd"].pk, "to_wallet_id": w["eur"].pk}),
    }


def _state():
    return (Payment.objects.count(), Refund.objects.count(), JournalEntry.objects.count(), Plan.objects.count(),
            Wallet.objects.count(), IdempotencyRecord.objects.count(),
            sorted(Payment.objects.values_list("amount_captured", "amount_refunded")))


@pytest.mark.parametrize("value", ["1e999999999", "1e999998", "1e3", "\uff11\uff12", " 1.00 ", "1_000"])
def test_rest_refuses_every_bad_amount_string_with_invalid_amount(api, world, value):
    before = _state()
    for name, (path, body) in _amount_calls(world).items():
        response = api.post(path, {**body, "amount": value}, format="json", HTTP_IDEMPOTENCY_KEY=f"k-{name}")
        assert response.status_code == 400, (name, response.status_code, response.content[:300])
        assert response.json()["error"]["code"] == "invalid_amount", (name, response.json())
    response = api.post("/api/v1/wallets", {"customer_id": CustomerFactory().pk, "currency": "USD",
                                            "daily_limit": value}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_amount")
    assert response.json()["error"]["details"] == {"field": "daily_limit"}
    assert _state() == before


@pytest.mark.parametrize("raw", ["1e3", "1E3", "1e+2", "2.5e1", "1e999999999", "-1e-999999999"])
def test_rest_refuses_json_numbers_with_an_exponent(api, world, raw):
    before = _state()
    for name, (path, body) in _amount_calls(world).items():
        text = json.dumps(body)[:-1] + (", " if body else "") + f'"amount": {raw}}}'
        response = api.generic("POST", path, text, content_type="application/json")
        assert response.status_code == 400, (name, response.status_code, response.content[:300])
        # Beyond a double the body is not JSON we accept; otherwise the number is read and refused as an amount.
        expected = "invalid_json" if raw == "1e999999999" else "invalid_amount"
        assert response.json()["error"]["code"] == expected, (name, response.json())
    assert _state() == before


def test_a_json_number_keeps_its_exact_text(api, world):
    path, body = _amount_calls(world)["payment"]
    too_precise = api.generic("POST", path, json.dumps(body)[:-1] + ', "amount": 0.1000000000000000055511151231257827}',
                              content_type="application/json")
    assert (too_precise.status_code, too_precise.json()["error"]["code"]) == (400, "amount_too_precise")
    ok = api.generic("POST", path, json.dumps(body)[:-1] + ', "amount": 12.50}', content_type="application/json")
    assert ok.status_code == 201, ok.json()
    assert ok.json()["amount"] == "12.50"


# --- JSON nesting --------------------------------------------------------------------------


def test_deeply_nested_body_is_invalid_json_even_for_a_read_only_key(client_for, world):
    reader = client_for("payments:read")
    before = _state()
    for path in ("/api/v1/payments", "/api/v1/transfers", f"/api/v1/wallets/{world['usd'].pk}/freeze"):
        response = reader.generic("POST", path, "[" * 3000, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code, response.content[:300])
        assert response.json()["error"]["code"] == "invalid_json"
        assert response.json()["error"]["message"] == "JSON parse error - JSON nested deeper than 64 levels."
    assert _state() == before


def test_nesting_deeper_than_the_limit_is_invalid_json(api, world):
    path, body = _amount_calls(world)["payment"]
    deep = {**body, "amount": "1.00", "metadata": {}}
    node = deep["metadata"]
    for _ in range(MAX_DEPTH):
        node["x"] = {}
        node = node["x"]
    response = api.post(path, deep, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")
    assert response.json()["error"]["message"] == "JSON parse error - JSON nested deeper than 64 levels."
    shallow = api.post(path, {**body, "amount": "1.00", "metadata": {"a": "b"}}, format="json")
    assert shallow.status_code == 201


def test_mcp_deep_nesting_is_a_parse_error(make_key):
    raw_key = make_key("*").raw_key
    http = Client()
    for body in ("[" * 3000, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                                           "params": {"a": [[[[[[[[[[[[[[[[[[[[0] * 1]]]]]]]]]]]]]]]]]]]}})
                 .replace("[0]", "[" * MAX_DEPTH + "0" + "]" * MAX_DEPTH)):
        response = http.post("/mcp/", data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {raw_key}", "Accept": "application/json",
                                      "MCP-Protocol-Version": "2025-11-25"})
        assert response.status_code == 400
        # The code as for any body that is not JSON; the message says what is wrong with this one, as REST's does.
        assert response.json()["error"] == {"code": -32700,
                                            "message": "Parse error: JSON nested deeper than 64 levels."}
    response = http.post("/mcp/", data="{", content_type="application/json",
                         headers={"Authorization": f"Bearer {raw_key}", "Accept": "application/json"})
    assert response.json()["error"] == {"code": -32700, "message": "Parse error: the body is not valid JSON."}


# --- duplicate names and huge integers --------------------------------------------------------


def test_a_member_named_twice_is_invalid_json_and_changes_nothing(api, world):
    path, body = _amount_calls(world)["payment"]
    before = _state()
    text = json.dumps(body)[:-1] + ', "amount": "1.00", "amount": "900.00"}'
    response = api.generic("POST", path, text, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")
    assert "'amount'" in response.json()["error"]["message"]
    nested = json.dumps(body)[:-1] + ', "amount": "1.00", "metadata": {"a": "1", "a": "2"}}'
    response = api.generic("POST", path, nested, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")
    assert _state() == before


def test_a_card_number_named_twice_is_not_repeated_in_the_refusal(api, world):
    path, body = _amount_calls(world)["payment"]
    text = json.dumps(body)[:-1] + ', "4000 0027 6000 3184": 1, "4000 0027 6000 3184": 2}'
    response = api.generic("POST", path, text, content_type="application/json")
    assert (response.status_code, response.json()["error"]["message"]) == (
        400, "JSON parse error - Duplicate member name in a JSON object: <card number>.")


def test_mcp_member_named_twice_is_a_parse_error(make_key):
    raw_key = make_key("*").raw_key
    body = '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "method": "tools/call", "params": {}}'
    response = Client().post("/mcp/", data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {raw_key}", "Accept": "application/json",
                                      "MCP-Protocol-Version": "2025-11-25"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


def test_an_integer_too_long_to_convert_is_invalid_json_in_plain_words(api, world):
    path, body = _amount_calls(world)["payment"]
    before = _state()
    text = json.dumps(body)[:-1] + ', "amount": ' + "9" * 5000 + "}"
    response = api.generic("POST", path, text, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")
    message = "JSON parse error - Integers of more than 4300 digits are not valid here."
    assert response.json()["error"]["message"] == message
    assert _state() == before


# --- MCP amounts -----------------------------------------------------------------------------


def _mcp(raw_key, arguments, tool):
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    return Client().post("/mcp/", data=json.dumps(body), content_type="application/json",
                         headers={"Authorization": f"Bearer {raw_key}", "Accept": "application/json",
                                  "MCP-Protocol-Version": "2025-11-25"})


@pytest.mark.parametrize("value", ["1e999999999", "1e999998", "\u0661\u0662"])
def test_mcp_refuses_enormous_amounts_as_a_tool_error(make_key, world, value):
    raw_key = make_key("*").raw_key
    before = _state()
    response = _mcp(raw_key, {"amount": value, "currency": "USD", "customer_id": world["customer"].pk,
                              "payment_method": "tok_visa", "idempotency_key": "m1"}, "create_payment")
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["code"] == "invalid_amount"
    assert _state() == before


def test_mcp_refuses_json_number_with_exponent(make_key, world):
    raw_key = make_key("*").raw_key
    arguments = {"amount": "AMOUNT", "currency": "USD", "customer_id": world["customer"].pk,
                 "payment_method": "tok_visa", "idempotency_key": "m2"}
    text = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                       "params": {"name": "create_payment", "arguments": arguments}}).replace('"AMOUNT"', "1e3")
    response = Client().post("/mcp/", data=text, content_type="application/json",
                             headers={"Authorization": f"Bearer {raw_key}", "Accept": "application/json",
                                      "MCP-Protocol-Version": "2025-11-25"})
    result = response.json()["result"]
    assert result["isError"] is True and result["structuredContent"]["error"]["code"] == "invalid_amount"
    assert Payment.objects.count() == 2


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "start_date=0001-01-01&end_date=9999-12-31", "start_date=0001-01-01&end_date=0001-01-02",
    "end_date=9999-12-31", "start_date=0001-01-01", "end_date=0001-01-01T00:00:00%2B05:00",
    "start_date=1999-12-31", "end_date=2101-01-01", "start_date=2150-01-01T00:00:00Z",
])
def test_dates_outside_the_sane_range_are_a_validation_error(api, world, query):
    for what in ("insights", "transactions"):
        response = api.get(f"/api/v1/wallets/{world['usd'].pk}/{what}?{query}")
        assert response.status_code == 400, (what, response.status_code, response.content[:300])
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert set(error["details"]["fields"]) <= {"start_date", "end_date"}


@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/wallets", "/api/v1/customers"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-05:00", "0001-01-01",
                                   "1999-12-31T23:59:59Z"])
def test_created_filters_outside_the_sane_range_are_a_validation_error(api, path, value):
    for name in ("created_gte", "created_lte"):
        response = api.get(f"{path}?{name}={value}")
        assert response.status_code == 400, (path, name, response.status_code, response.content[:300])
        assert response.json()["error"]["code"] == "validation_error"
        assert list(response.json()["error"]["details"]["fields"]) == [name]


def test_the_edges_of_the_sane_range_are_accepted(api, world):
    response = api.get(f"/api/v1/wallets/{world['usd'].pk}/insights?start_date=2000-01-01&end_date=2100-12-31")
    assert response.status_code == 200, response.json()
    assert response.json()["period_end"] == "2101-01-01T00:00:00Z"
    listed = api.get("/api/v1/payments?created_gte=2000-01-01T00:00:00Z&created_lte=2100-12-31T23:59:59Z")
    assert listed.status_code == 200 and len(listed.json()["data"]) == 2


def test_mcp_wallet_insights_with_absurd_dates_is_a_tool_error(make_key, world):
    raw_key = make_key("*").raw_key
    response = _mcp(raw_key, {"wallet_id": world["usd"].pk, "start_date": "0001-01-01", "end_date": "9999-12-31"},
                    "wallet_insights")
    assert response.status_code == 200, response.content[:300]
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["code"] == "validation_error"


# --- cursors are client text too -------------------------------------------------------------


def _cursor(obj):
    import base64

    raw = obj if isinstance(obj, str) else json.dumps(obj)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    _cursor(["0001-01-01T00:00:00+05:00", "pay_x"]), _cursor(["9999-12-31T23:59:59-05:00", "pay_x"]),
    _cursor("[" * 3000), _cursor(["2026-01-01T00:00:00+00:00", "a\x00b"]), _cursor(["2026-01-01", "pay_x"]),
    _cursor(["2026-01-01T00:00:00+00:00", {"a": 1}]), _cursor(["2026-01-01T00:00:00+00:00", 5]), "%%%",
])
@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/wallets", "/api/v1/customers"])
def test_a_forged_cursor_is_a_validation_error(api, path, cursor):
    response = api.get(f"{path}?cursor={cursor}")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response.json()["error"]["details"]["fields"] == {"cursor": ["Invalid cursor."]}


def test_a_real_cursor_still_pages(api, world):
    first = api.get("/api/v1/payments?limit=1").json()
    assert first["has_more"] is True
    second = api.get(f"/api/v1/payments?limit=1&cursor={first['next_cursor']}").json()
    assert [p["id"] for p in first["data"] + second["data"]] == [world["captured"].pk, world["manual"].pk]


def test_mcp_tools_list_with_a_deeply_nested_cursor_is_invalid_params(make_key):
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"cursor": _cursor("[" * 3000)}}
    response = Client().post("/mcp/", data=json.dumps(body), content_type="application/json",
                             headers={"Authorization": f"Bearer {make_key('*').raw_key}",
                                      "Accept": "application/json", "MCP-Protocol-Version": "2025-11-25"})
    assert response.json()["error"]["code"] == -32602, response.content[:300]


# --- other numbers from people: exchange rates ------------------------------------------------


@pytest.mark.parametrize("rate", ["1e999999999", "1e-999999999", "9e999999", "\uff11.5", " 1.5 ", "1_000", "NaN",
                                  "-Infinity", "1e3", "123456789012345", "0.00000000001", True, None, [1]])
def test_exchange_rates_are_plain_bounded_decimals(rate):
    from core.errors import ValidationFailed
    from wallets.models import ExchangeRate

    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as exc:
        services.exchange_rate_set(actor=Actor.system("tests"), base_currency="USD", quote_currency="EUR",
                                   rate=rate, source="test")
    assert time.perf_counter() - started < 0.5
    assert list(exc.value.details["fields"]) == ["rate"]
    assert ExchangeRate.objects.count() == 0


@pytest.mark.parametrize(("rate", "stored"), [("0.9234", "0.9234"), ("151.2370000000000", "151.237"), (2, "2"),
                                              ("1234.0123456789", "1234.0123456789")])
def test_plain_exchange_rates_are_stored_exactly(rate, stored):
    from decimal import Decimal

    row = services.exchange_rate_set(actor=Actor.system("tests"), base_currency="USD", quote_currency="EUR",
                                     rate=rate, source="test")
    row.refresh_from_db()
    assert row.rate == Decimal(stored)


def test_every_date_input_of_every_operation_is_range_checked():
    from rest_framework import serializers

    from core.operations import all_operations
    from core.serializers import DateInField, DateOrDateTimeField, DateTimeInField

    checked = []
    for op in all_operations():
        for name, field in (op.input().fields.items() if op.input else []):
            if isinstance(field, serializers.DateTimeField | serializers.DateField) and not field.read_only:
                assert isinstance(field, DateTimeInField | DateInField), (op.name, name)
                checked.append(op.name)
            elif isinstance(field, DateOrDateTimeField):
                checked.append(op.name)
    assert {"list_payments", "list_wallets", "list_customers", "wallet_insights",
            "wallet_transaction_history"} <= set(checked)
