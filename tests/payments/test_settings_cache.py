"""What each process keeps instead of reading it on every payment (issue 12), and the bound within which
a change applies: in the process that saves it, to the next payment; in every other process, within
PAYMENTS_SETTINGS_CACHE_SECONDS (fee schedules, routing rules) or PAYMENTS_ROUTING_STATS_SECONDS
(routing statistics). Another process's change is made here with a queryset `update()`, which clears
nothing in this process, exactly as a save in another process would not."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from core.db import run_in_transaction
from payments import routing
from payments.models import FeeSchedule, ProviderStat, RoutingRule
from tests.adminurls import admin_url
from wallets import ledger
from wallets.ledger import AccountType
from wallets.selectors.verify import ledger_verify

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def at(seconds):
    return clock.frozen_at(MOMENT + dt.timedelta(seconds=seconds))


def test_a_fee_change_in_the_admin_applies_to_the_next_payment(staff_client, pay, fees):
    assert pay(amount=10_000).fee_amount == 320  # 2.90% + 0.30, now kept by this process
    response = staff_client("admin").post(admin_url(fees), {
        "provider": "sandbox", "currency": "USD", "percent_bps": 100, "fixed_amount": "0.05", "active": "on"})
    assert response.status_code == 302
    assert pay(amount=10_000).fee_amount == 105
    fees.delete()
    assert pay(amount=10_000).fee_amount == 0


def test_a_fee_change_made_elsewhere_applies_within_the_bound(settings, pay, fees):
    settings.PAYMENTS_SETTINGS_CACHE_SECONDS = 5
    with at(0):
        assert pay(amount=10_000).fee_amount == 320
    FeeSchedule.objects.filter(pk=fees.pk).update(percent_bps=100, fixed_amount=5)
    with at(4.999):
        assert pay(amount=10_000).fee_amount == 320  # kept: no read of the schedule
    with at(5):
        assert pay(amount=10_000).fee_amount == 105
    with at(6):
        FeeSchedule.objects.filter(pk=fees.pk).update(active=False)
    with at(10.5):
        assert pay(amount=10_000).fee_amount == 0
    assert ledger_verify().problems == []


def test_a_routing_rule_saved_applies_at_once_and_a_change_elsewhere_within_the_bound(settings, actor, customer):
    from payments.services import payment_create

    settings.PAYMENTS_PROVIDERS = {"a": {"type": "sandbox"}, "b": {"type": "sandbox"}}
    settings.PAYMENTS_SETTINGS_CACHE_SECONDS = 5

    def provider():
        return payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="USD", method="card",
                              payment_method="tok_visa").provider

    with at(0):
        rule = RoutingRule.objects.create(name="a only", allowed_providers=["a"], created=clock.now(),
                                          updated=clock.now())
        assert provider() == "a"
        rule.allowed_providers = ["b"]
        rule.save()
        assert provider() == "b"
        RoutingRule.objects.filter(pk=rule.pk).update(allowed_providers=["a"])
    with at(4.999):
        assert provider() == "b"
    with at(5):
        assert provider() == "a"


def test_routing_statistics_are_read_once_per_interval(settings):
    settings.PAYMENTS_PROVIDERS = {"a": {"type": "sandbox"}, "b": {"type": "sandbox"}}
    settings.PAYMENTS_ROUTING_STATS_SECONDS = 10

    def record(provider, ok):
        run_in_transaction(lambda: routing.record_outcomes({(provider, "USD"): (2, ok, 300)}))

    def window():
        with CaptureQueriesContext(connection) as queries:
            stats = routing.window_stats(names=["a", "b"], currency="USD")
        return {name: (s["attempts"], s["successes"]) for name, s in stats.items()}, len(queries)

    with at(0):
        record("a", 2)
        assert window() == ({"a": (2, 2), "b": (0, 0)}, 1)
        record("b", 1)
        record("a", 0)
        assert window() == ({"a": (2, 2), "b": (0, 0)}, 0)
    with at(9.999):
        assert window() == ({"a": (2, 2), "b": (0, 0)}, 0)
    with at(10):
        assert window() == ({"a": (4, 2), "b": (2, 1)}, 1)


def test_provider_stats_are_one_upsert_per_outcome_batch():
    def record(attempts, successes, latency):
        with CaptureQueriesContext(connection) as queries:
            run_in_transaction(lambda: routing.record_outcomes({("a", "EUR"): (attempts, successes, latency)}))
        return len(queries)

    with at(0):
        assert record(3, 2, 450) == 1  # the hour's row created
        assert record(1, 1, 50) == 1  # and added to
    with at(3600):
        assert record(1, 0, 10) == 1  # the next hour's row
    rows = ProviderStat.objects.order_by("bucket").values_list("bucket", "attempts", "successes", "latency_ms_total")
    assert list(rows) == [(MOMENT, 4, 3, 500), (MOMENT + dt.timedelta(hours=1), 1, 0, 10)]


def test_provider_stats_of_several_providers_are_one_upsert():
    with at(0):
        run_in_transaction(lambda: routing.record_outcomes({("a", "EUR"): (1, 1, 40)}))
        with CaptureQueriesContext(connection) as queries:
            run_in_transaction(lambda: routing.record_outcomes({("b", "EUR"): (2, 1, 90), ("a", "EUR"): (3, 0, 30),
                                                                ("a", "USD"): (0, 0, 0)}))
    assert len(queries) == 1
    rows = ProviderStat.objects.order_by("provider", "currency").values_list("provider", "currency", "attempts",
                                                                              "successes", "latency_ms_total")
    assert list(rows) == [("a", "EUR", 4, 1, 70), ("b", "EUR", 2, 1, 90)]


def test_a_kept_account_id_that_names_another_account_is_not_used(pay, fees):
    """An id kept from a transaction that rolled back may be gone, or (SQLite) reused by another
    account: the locked row is checked against (owner, type, currency) and the id resolved again."""
    pay(amount=10_000)  # ids known
    revenue_key = ("platform", AccountType.MERCHANT_REVENUE, "USD")
    fees_key = ("platform", AccountType.FEES, "USD")

    def ids():
        return {key: ledger._account_ids.peek(key) for key in (revenue_key, fees_key)}

    known = ids()
    ledger._account_ids.put(revenue_key, known[fees_key][1])  # the fees account's id under the revenue key
    pay(amount=10_000)
    assert ids() == known
    ledger._account_ids.put(fees_key, 10**12)  # an id no account has
    pay(amount=10_000)
    assert ids() == known
    balances = run_in_transaction(lambda: {key: ledger.account_balance(a) for key, a in
                                           ledger.lock_system_accounts([revenue_key, fees_key]).accounts.items()})
    assert balances == {revenue_key: 3 * (10_000 - 320), fees_key: 3 * 320}
    assert ledger_verify().problems == []
