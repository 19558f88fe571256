"""Property: whatever JSON a client sends to any operation, the answer is a result or a
DomainError with a stable 4xx code, never another exception (issue 10, item 5).

Every registered operation is called through `core.operations.invoke` (the path REST, MCP and
the admin console share) as an admin's `*` API key, with arbitrary JSON values for its declared
fields, arbitrary extra keys, and values that matter here (real ids of objects, enormous and
exotic amounts, absurd dates, card numbers). Values pass through our JSON parser first, so
numbers arrive as they do over the wire. Writes that succeed are fine. The example count is
bounded and derandomised so the test runs in `make test` in seconds and the same on every run.
"""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from core import jsonparse
from core.context import Actor
from core.errors import DomainError
from core.operations import all_operations, invoke
from core.serializers import AmountInField, CurrencyField, DateOrDateTimeField
from subscriptions.models import Invoice
from tests.factories import CustomerFactory

settings.register_profile(
    "operations-fuzz", max_examples=25, derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
STABLE_CODE = re.compile(r"[a-z][a-z0-9_]{1,63}")
PAN = "4000002760003184"

HOSTILE_STRINGS = [
    "", " ", "x" * 600, "a\x00b", "\ud800", PAN, "4000\u00a00027\u00a06000\u00a03184", "NaN", "Infinity", "pay_x",
    "wal_", "\uff11\uff12", "\u0661\u0662",
]
AMOUNTS = ["10.00", "1", "0", "-1", "0.001", "-0.01", " 1.00 ", "1e3", "1E3", "1e999999999", "1e999998", "9e999999",
           "1e-999999999", "-1e999999999", "\uff11\uff12", "\u0661\u0662", "1_000", "+1", ".5", "1.",
           "99999999999999999", "0." + "0" * 400 + "1"]
DATES = ["0001-01-01", "9999-12-31", "1999-12-31", "2000-01-01", "2100-12-31", "2101-01-01", "2026-01-01",
         "2026-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-13-45", "yesterday"]
CURRENCIES = ["USD", "usd", "JPY", "KWD", "EUR", "xxx", "US", "usdd", " usd "]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(HOSTILE_STRINGS))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _field_values(name, field, ids):
    """Values for one field: mostly plausible ones (so that a call gets past its other fields to
    the one under attack), including this kind of field's hostile values, and any JSON at all."""
    if ids.get(name):
        plausible = st.sampled_from(ids[name])
    elif isinstance(field, AmountInField):
        plausible = (st.sampled_from(AMOUNTS) | st.sampled_from(AMOUNTS)
                     | st.decimals(places=3, min_value=-10**6, max_value=10**6, allow_nan=False).map(str)
                     | st.floats(min_value=-1e20, max_value=1e20) | st.integers())
    elif isinstance(field, DateOrDateTimeField | serializers.DateTimeField):
        plausible = (st.sampled_from(DATES) | st.sampled_from(DATES) | st.dates().map(str)
                     | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()))
    elif isinstance(field, CurrencyField):
        plausible = st.sampled_from(CURRENCIES)
    elif isinstance(field, serializers.ChoiceField):
        plausible = st.sampled_from(list(field.choices))
    elif isinstance(field, serializers.BooleanField):
        plausible = st.booleans()
    elif isinstance(field, serializers.IntegerField):
        plausible = st.integers(min_value=-5, max_value=400) | st.integers()
    elif isinstance(field, serializers.DictField):
        plausible = st.dictionaries(st.text(max_size=8), scalars, max_size=3)
    elif name == "payment_method":
        plausible = st.sampled_from(["tok_visa", "tok_decline_insufficient_funds", "tok_mastercard"])
    elif isinstance(field, serializers.CharField):
        plausible = st.text(max_size=30)
    else:
        return json_values
    return st.one_of(plausible, plausible, plausible, plausible, json_values)


def wire(value):
    """As the value arrives over the wire: our parser's numbers (a JsonNumber keeps its text)."""
    return jsonparse.loads(json.dumps(value))


def _world(actor):
    """One of everything the operations take an id of, made through the operations themselves."""
    customer = CustomerFactory()

    def run(op_name, **data):
        op = next(op for op in all_operations() if op.name == op_name)
        return invoke(op, actor=actor, data=data).body

    usd = run("create_wallet", customer_id=customer.pk, currency="USD")
    eur = run("create_wallet", customer_id=customer.pk, currency="EUR")
    run("top_up_wallet", wallet_id=usd["id"], amount="500.00", payment_method="tok_visa")
    manual = run("create_payment", amount="20.00", currency="USD", customer_id=customer.pk,
                 payment_method="tok_visa", capture_method="manual")
    paid = run("create_payment", amount="30.00", currency="USD", customer_id=customer.pk, payment_method="tok_visa")
    refund = run("refund_payment", payment_id=paid["id"], amount="1.00")
    plan = run("create_plan", name="Fuzz", amount="9.99", currency="USD", interval="month")
    sub = run("create_subscription", customer_id=customer.pk, plan_id=plan["id"], payment_method="tok_visa")
    failing = run("create_subscription", customer_id=customer.pk, plan_id=plan["id"],
                  payment_method="tok_decline_insufficient_funds")
    return {
        "customer_id": [customer.pk], "wallet_id": [usd["id"], eur["id"]], "from_wallet_id": [usd["id"]],
        "to_wallet_id": [eur["id"], usd["id"]], "payment_id": [manual["id"], paid["id"]], "refund_id": [refund["id"]],
        "plan_id": [plan["id"]], "subscription_id": [sub["id"], failing["id"]],
        "invoice_id": list(Invoice.objects.values_list("pk", flat=True)[:3]), "approval_id": ["apr_missing"],
    }


def _arguments(op, ids):
    fields = {name: field for name, field in op.input().fields.items() if not field.read_only} if op.input else {}
    values = {name: _field_values(name, field, ids) for name, field in fields.items()}
    declared = st.fixed_dictionaries({name: values[name] for name, field in fields.items() if field.required},
                                     optional={name: values[name] for name, field in fields.items()
                                               if not field.required})
    extra = st.just({}) | st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=2)
    return st.tuples(declared, extra).map(lambda pair: wire({**pair[1], **pair[0]}))


@pytest.fixture
def fuzz_world(make_key, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    actor = Actor.for_api_key(make_key("*", role="admin").api_key)
    return actor, _world(actor)


def _check(op, actor, data, key):
    try:
        result = invoke(op, actor=actor, data=data, idempotency_key=key)
    except DomainError as exc:
        assert 400 <= exc.status < 500, (op.name, exc.status, exc.code, exc.message)
        assert STABLE_CODE.fullmatch(exc.code), (op.name, exc.code)
        JSONRenderer().render({"error": exc.to_dict()})
    else:
        assert 200 <= result.status < 300, (op.name, result.status)
        JSONRenderer().render(result.body)


def _property_for(op, actor, ids):
    keys = st.just(None) if op.read_only else st.none() | st.text(max_size=12) | st.just(PAN)

    @settings(settings.get_profile("operations-fuzz"))
    @given(data=_arguments(op, ids), key=keys)
    def check(data, key):
        _check(op, actor, data, key)

    return check


@pytest.mark.django_db
def test_any_json_input_is_a_result_or_a_4xx_domain_error(fuzz_world):
    # One world for every operation (setting it up is most of the cost); each operation gets its
    # own bounded run, and every operation that fails is reported, not only the first.
    actor, ids = fuzz_world
    failures = {}
    for op in all_operations():
        try:
            _property_for(op, actor, ids)()
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures[op.name] = f"{type(exc).__name__}: {exc}"[:2000]
    assert not failures, "\n".join(f"{name}: {text}" for name, text in failures.items())
