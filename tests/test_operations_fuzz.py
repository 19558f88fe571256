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
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
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
    "operations-fuzz", max_examples=15, derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# No input may stall a worker: every call answers in milliseconds; this bound only has to be
# far above that and far below the tens of seconds a million-digit amount used to take.
SLOW_SECONDS = 3.0
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
# Tried on every amount and date field of every operation (the ones that used to stall or 500).
AMOUNT_SWEEP = ["1e999999999", "1e999998", "1e999997", "9e999999", "-1e999999999", "1e-999999999", "\uff11\uff12",
                " 1.00 ", jsonparse.JsonNumber("1e3"), jsonparse.JsonNumber("0.1000000000000000055511151231257827")]
DATE_SWEEP = ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
CURRENCIES = ["USD", "usd", "JPY", "KWD", "EUR", "xxx", "US", "usdd", " usd "]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(HOSTILE_STRINGS))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _good(name, field, ids):
    """A value the field accepts (or a real id), so that a call gets past its other fields."""
    if ids.get(name):
        return st.sampled_from(ids[name])
    if isinstance(field, AmountInField):
        return st.sampled_from(["1.00", "2", "0.50", 1, 2.5])
    if isinstance(field, DateOrDateTimeField | serializers.DateTimeField):
        return st.sampled_from(["2026-01-01", "2026-06-30T12:00:00Z", "2025-12-01T00:00:00+02:00"])
    if isinstance(field, CurrencyField):
        return st.sampled_from(["USD", "usd", "EUR"])
    if isinstance(field, serializers.ChoiceField):
        return st.sampled_from(list(field.choices))
    if isinstance(field, serializers.BooleanField):
        return st.booleans()
    if isinstance(field, serializers.IntegerField):
        return st.integers(min_value=1, max_value=12)
    if isinstance(field, serializers.DictField):
        return st.dictionaries(st.text(max_size=8), scalars, max_size=2)
    if name == "payment_method":
        return st.sampled_from(["tok_visa", "tok_decline_insufficient_funds", "tok_mastercard"])
    if isinstance(field, serializers.EmailField):
        return st.emails()
    if isinstance(field, serializers.CharField):
        return st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=20)
    return json_values


# JSON carries no NaN or Infinity (our parser refuses them before any operation runs: tested with the
# parser), so the wire cannot bring them to an operation either.
wire_floats = st.floats(allow_nan=False, allow_infinity=False)


def _hostile(field):
    """What an attacker (or a careless client) sends for this kind of field, or any JSON."""
    if isinstance(field, AmountInField):
        special = (st.sampled_from(AMOUNTS) | wire_floats | st.integers()
                   | st.decimals(allow_nan=False, allow_infinity=False).map(str))
    elif isinstance(field, DateOrDateTimeField | serializers.DateTimeField):
        special = (st.sampled_from(DATES) | st.dates().map(str)
                   | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()))
    elif isinstance(field, CurrencyField):
        special = st.sampled_from(CURRENCIES)
    elif isinstance(field, serializers.IntegerField):
        special = st.integers() | wire_floats
    elif isinstance(field, serializers.CharField):
        special = st.sampled_from(HOSTILE_STRINGS) | st.text() | st.integers() | wire_floats
    else:
        special = st.nothing()
    return special | special | json_values


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
    endpoint = run("create_webhook_endpoint", url="https://93.184.216.34/hooks")
    test = run("send_test_webhook", endpoint_id=endpoint["id"])
    return {
        "customer_id": [customer.pk], "wallet_id": [usd["id"], eur["id"]], "from_wallet_id": [usd["id"]],
        "to_wallet_id": [eur["id"], usd["id"]], "payment_id": [manual["id"], paid["id"]], "refund_id": [refund["id"]],
        "plan_id": [plan["id"]], "subscription_id": [sub["id"], failing["id"]],
        "invoice_id": list(Invoice.objects.values_list("pk", flat=True)[:3]), "approval_id": ["apr_missing"],
        "endpoint_id": [endpoint["id"]], "event_id": [test["event_id"]],
    }


def _arguments(op, ids):
    """A plausible call with one or two of its fields (or an extra key) replaced by hostile input."""
    fields = {name: field for name, field in op.input().fields.items() if not field.read_only} if op.input else {}

    @st.composite
    def arguments(draw):
        data = {name: draw(_good(name, field, ids), label=name) for name, field in fields.items()
                if field.required or draw(st.booleans())}
        names = sorted(fields)
        for name in (draw(st.lists(st.sampled_from(names), max_size=2, unique=True)) if names else []):
            data[name] = draw(_hostile(fields[name]), label=f"hostile {name}")
        if not names or draw(st.integers(0, 5)) == 0:
            data.update(draw(st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=2)))
        return wire(data)

    return arguments()


@pytest.fixture
def fuzz_world(make_key, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    actor = Actor.for_api_key(make_key("*", role="admin").api_key)
    return actor, _world(actor)


def _check(op, actor, data, key):
    started = time.perf_counter()
    try:
        result = invoke(op, actor=actor, data=data, idempotency_key=key)
    except DomainError as exc:
        assert time.perf_counter() - started < SLOW_SECONDS, (op.name, "slow refusal", exc.code)
        assert 400 <= exc.status < 500, (op.name, exc.status, exc.code, exc.message)
        assert STABLE_CODE.fullmatch(exc.code), (op.name, exc.code)
        JSONRenderer().render({"error": exc.to_dict()})
    else:
        assert time.perf_counter() - started < SLOW_SECONDS, (op.name, "slow answer")
        assert 200 <= result.status < 300, (op.name, result.status)
        JSONRenderer().render(result.body)


def _plain(name, field, ids):
    """The simplest value the field accepts: the base of the explicit examples."""
    if ids.get(name):
        return ids[name][0]
    if isinstance(field, AmountInField):
        return "1.00"
    if isinstance(field, DateOrDateTimeField | serializers.DateTimeField):
        return "2026-01-01"
    if isinstance(field, CurrencyField):
        return "USD"
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices))
    if isinstance(field, serializers.BooleanField):
        return False
    if isinstance(field, serializers.IntegerField):
        return 1
    if isinstance(field, serializers.DictField):
        return {}
    if name == "payment_method":
        return "tok_visa"
    if isinstance(field, serializers.EmailField):
        return "fuzz@example.com"
    return "x"


def _sweep(field):
    """The values every field of this kind is tried with, whatever the random draws find."""
    if isinstance(field, AmountInField):
        return AMOUNT_SWEEP
    if isinstance(field, DateOrDateTimeField | serializers.DateTimeField):
        return DATE_SWEEP
    if isinstance(field, serializers.CharField):
        return [12.5, PAN]
    return []


def _explicit_examples(op, ids):
    """A plausible call with one field at a time set to each value of its kind's sweep."""
    fields = {name: field for name, field in op.input().fields.items() if not field.read_only} if op.input else {}
    base = {name: _plain(name, field, ids) for name, field in fields.items() if field.required}
    examples = [{**base, "unexpected_field": 1}]
    for name, field in fields.items():
        examples.extend({**base, name: value} for value in _sweep(field))
    return examples


def _property_for(op, actor, ids):
    keys = st.just(None) if op.read_only else st.none() | st.text(max_size=12) | st.just(PAN)

    @settings(settings.get_profile("operations-fuzz"))
    @given(data=_arguments(op, ids), key=keys)
    def check(data, key):
        _check(op, actor, data, key)

    for data in _explicit_examples(op, ids):
        check = example(data=data, key=None)(check)
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
