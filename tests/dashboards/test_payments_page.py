"""The payments page and get_payment_metrics over rows the tests create: March 2026 (the previous period of the
same length is 29 January - 28 February)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.analytics.payments import percentile
from monitoring.dashboards import registry
from monitoring.dashboards.period import Period
from payments.models import Payment, PaymentAttempt
from tests.factories import CustomerFactory
from tests.mcp.conftest import mcp, mcp_for  # noqa: F401  (the MCP client fixtures)

pytestmark = pytest.mark.django_db

MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
QUERY = "from=2026-03-01&to=2026-03-31"
D = Decimal


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def pay(customer, when, amount, status, currency="EUR", code="", refunded=0, attempts=()):
    payment = Payment.objects.create(
        customer=customer,
        amount=amount,
        currency=currency,
        method="card",
        payment_method="tok_visa",
        status=status,
        amount_captured=amount if status == "succeeded" else 0,
        amount_refunded=refunded,
        failure_code=code,
        created=when,
        updated=when,
    )
    for sequence, (provider, attempt_status, latency) in enumerate(attempts, start=1):
        PaymentAttempt.objects.create(
            payment=payment,
            sequence=sequence,
            provider=provider,
            status=attempt_status,
            latency_ms=latency,
            created=when,
        )
    return payment


@pytest.fixture
def traffic():
    c = CustomerFactory()
    pay(c, at("2026-03-01", 10), 10_000, "succeeded", refunded=2_500, attempts=[("stripe", "authorised", 120)])
    pay(
        c,
        at("2026-03-01", 11),
        5_000,
        "failed",
        code="card_declined",
        attempts=[("stripe", "declined", 200), ("adyen", "declined", 300)],
    )
    pay(c, at("2026-03-02"), 4_000, "failed", attempts=[("adyen", "unreachable", None), ("stripe", "declined", 100)])
    pay(c, at("2026-03-02", 13), 8_000, "succeeded", currency="USD", attempts=[("adyen", "captured", 400)])
    pay(c, at("2026-03-02", 14), 3_000, "failed", code="card_declined", attempts=[("stripe", "declined", 80)])
    pay(c, at("2026-03-03"), 30_000, "succeeded")
    pay(c, at("2026-03-03", 13), 7_000, "processing")  # neither succeeded nor failed: in no rate
    pay(c, at("2026-02-20"), 2_000, "succeeded", attempts=[("stripe", "authorised", 50)])  # previous period
    pay(c, at("2026-02-21"), 1_000, "failed", code="insufficient_funds")
    pay(c, at("2026-04-01", 0), 1_000, "failed", code="after")  # after the period: nowhere
    return c


def test_percentile_interpolates_between_ranks_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7
    assert percentile([80, 100, 120, 200], 0.5) == 110
    assert round(percentile([80, 100, 120, 200], 0.95), 6) == 188
    assert percentile([300, 400], 0.95) == 395


def test_payments_page_numbers(traffic):
    page = registry.get("payments").build(MARCH)
    assert {t.key: (t.value, t.previous) for t in page.sections[0].tiles} == {
        "success_rate": (D("0.5000"), D("0.5000")),
        "succeeded": (3, 1),
        "failed": (3, 1),
        "attempts": (7, None),
        "refund_rate_eur": (D("0.0625"), None),
        "refund_rate_usd": (D("0.0000"), None),
    }
    assert [c.name for c in page.charts] == [
        "success_rate_by_day",
        "decline_reasons",
        "provider_performance",
        "routing_share",
        "authorisation_latency",
        "refund_rate",
    ]
    assert page.chart("success_rate_by_day").rows == [
        {"day": "2026-03-01", "succeeded": 1, "failed": 1, "success_rate": D("0.5000")},
        {"day": "2026-03-02", "succeeded": 1, "failed": 2, "success_rate": D("0.3333")},
        {"day": "2026-03-03", "succeeded": 1, "failed": 0, "success_rate": D("1.0000")},
    ]
    assert [(r["code"], r["payments"], r["share"]) for r in page.chart("decline_reasons").rows] == [
        ("card_declined", 2, D("0.6667")),
        ("unspecified", 1, D("0.3333")),
    ]
    assert page.chart("decline_reasons").rows[1]["url"] == (
        "/admin/payments/payment/?status__exact=failed&created__gte=2026-03-01T00%3A00%3A00%2B00%3A00"
        "&created__lt=2026-04-01T00%3A00%3A00%2B00%3A00"
        "&failure_code__exact="
    )
    assert page.chart("provider_performance").rows == [
        {
            "provider": "adyen",
            "attempts": 3,
            "successes": 1,
            "declined": 1,
            "unreachable": 1,
            "success_rate": D("0.3333"),
            "share": D("0.4286"),
        },
        {
            "provider": "stripe",
            "attempts": 4,
            "successes": 1,
            "declined": 3,
            "unreachable": 0,
            "success_rate": D("0.2500"),
            "share": D("0.5714"),
        },
    ]
    assert page.chart("authorisation_latency").rows == [
        {"provider": "adyen", "attempts": 2, "p50_ms": D("350.0"), "p95_ms": D("395.0")},
        {"provider": "stripe", "attempts": 4, "p50_ms": D("110.0"), "p95_ms": D("188.0")},
    ]
    assert page.chart("refund_rate").rows == [
        {
            "currency": "EUR",
            "payments": 2,
            "refunded_payments": 1,
            "captured": 40_000,
            "refunded": 2_500,
            "amount_rate": D("0.0625"),
            "count_rate": D("0.5000"),
        },
        {
            "currency": "USD",
            "payments": 1,
            "refunded_payments": 0,
            "captured": 8_000,
            "refunded": 0,
            "amount_rate": D("0.0000"),
            "count_rate": D("0.0000"),
        },
    ]


def test_one_currency_and_an_empty_period_keep_the_same_charts(traffic):
    usd = registry.get("payments").build(Period(MARCH.start, MARCH.end, "USD"))
    assert [(r["provider"], r["attempts"]) for r in usd.chart("provider_performance").rows] == [("adyen", 1)]
    assert usd.chart("decline_reasons").rows == []
    empty = registry.get("payments").build(Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
    assert [c.name for c in empty.charts] == [c.name for c in usd.charts]
    assert all(c.empty for c in empty.charts)
    assert empty.sections[0].tiles[0].value is None


def test_payments_page_answers_in_a_fixed_number_of_queries(traffic):
    with CaptureQueriesContext(connection) as queries:
        registry.get("payments").build(MARCH)
    # the payment days (is the rollup built? no: computed) and the attempts (providers, latency)
    assert len(queries) == 4
    pay(traffic, at("2026-03-05"), 100, "failed", code="x", attempts=[("third", "declined", 10)])
    with CaptureQueriesContext(connection) as queries:
        registry.get("payments").build(MARCH)
    assert len(queries) == 4


def test_page_renders_and_downloads_a_chart_as_csv(traffic, staff_client):
    client = staff_client("support")
    response = client.get(f"/admin/dashboards/payments/?{QUERY}")
    assert response.status_code == 200
    assert 'id="chart-routing_share-data"' in response.content.decode()
    csv_response = client.get(f"/admin/dashboards/payments/?{QUERY}&format=csv&chart=refund_rate")
    assert csv_response.status_code == 200
    assert list(csv.reader(io.StringIO(csv_response.content.decode()))) == [
        ["currency", "payments", "refunded_payments", "captured", "refunded", "amount_rate", "count_rate"],
        ["EUR", "2", "1", "400.00", "25.00", "0.0625", "0.5000"],
        ["USD", "1", "0", "80.00", "0.00", "0.0000", "0.0000"],
    ]
    assert staff_client(None).get(f"/admin/dashboards/payments/?{QUERY}").status_code == 403


def test_rest_payment_metrics(traffic, api):
    data = api.get(f"/api/v1/analytics/payments?{QUERY}").json()
    assert (data["object"], data["from"], data["to"], data["currency"]) == (
        "payment_metrics",
        "2026-03-01",
        "2026-03-31",
        None,
    )
    assert data["totals"] == {
        "succeeded": 3,
        "failed": 3,
        "success_rate": "0.5000",
        "previous_succeeded": 1,
        "previous_failed": 1,
        "previous_success_rate": "0.5000",
    }
    assert data["by_day"][1] == {"day": "2026-03-02", "succeeded": 1, "failed": 2, "success_rate": "0.3333"}
    assert data["decline_reasons"][0] == {"code": "card_declined", "payments": 2, "share": "0.6667"}
    assert data["providers"][1] == {
        "provider": "stripe",
        "attempts": 4,
        "successes": 1,
        "declined": 3,
        "unreachable": 0,
        "success_rate": "0.2500",
        "share": "0.5714",
    }
    assert data["latency"] == [
        {"provider": "adyen", "attempts": 2, "p50_ms": "350.0", "p95_ms": "395.0"},
        {"provider": "stripe", "attempts": 4, "p50_ms": "110.0", "p95_ms": "188.0"},
    ]
    assert data["refunds"][0] == {
        "currency": "EUR",
        "payments": 2,
        "refunded_payments": 1,
        "captured": "400.00",
        "refunded": "25.00",
        "amount_rate": "0.0625",
        "count_rate": "0.5000",
    }
    usd = api.get(f"/api/v1/analytics/payments?{QUERY}&currency=usd").json()
    assert (usd["currency"], usd["totals"]["succeeded"], usd["totals"]["failed"]) == ("USD", 1, 0)


def test_rest_payment_metrics_refuses_bad_input_and_keys_without_scope_or_permission(traffic, client_for):

    ok = client_for("analytics:read")
    assert ok.get("/api/v1/analytics/payments").status_code == 200
    for query, code in (
        ("from=2026-04-01&to=2026-03-01", "invalid_period"),
        ("from=1999-12-31", "validation_error"),
        ("currency=XXX", "unsupported_currency"),
        ("nope=1", "validation_error"),
    ):
        response = ok.get(f"/api/v1/analytics/payments?{query}")
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), query
    response = client_for("payments:read").get("/api/v1/analytics/payments")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")
    response = client_for("analytics:read", role=None).get("/api/v1/analytics/payments")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_mcp_payment_metrics(traffic, mcp, mcp_for):  # noqa: F811  (fixtures imported above)
    assert "get_payment_metrics" in mcp.tool_names()
    data = mcp.ok("get_payment_metrics", {"from": "2026-03-01", "to": "2026-03-31"})
    assert data["totals"]["success_rate"] == "0.5000"
    assert [(r["provider"], r["share"]) for r in data["providers"]] == [("adyen", "0.4286"), ("stripe", "0.5714")]
    assert mcp.error("get_payment_metrics", {"from": "2026-04-01", "to": "2026-03-01"})["code"] == "invalid_period"
    assert mcp_for("payments:read").error("get_payment_metrics", {})["code"] == "insufficient_scope"
