"""The overview (admin home) and get_dashboard_metrics over rows the tests create. The clock stands at
2026-03-31 15:00 UTC: today is 31 March (previous: 30 March), 7 days 25-31 March (previous 18-24), 30 days
2-31 March (previous 31 January - 1 March)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.dashboards import registry
from monitoring.dashboards.period import Period
from monitoring.models import Alert, HealthCheck
from payments.models import Payment, Refund
from subscriptions.models import Plan, Subscription, SubscriptionEvent
from tests.factories import CustomerFactory
from tests.mcp.conftest import mcp, mcp_for  # noqa: F401  (the MCP client fixtures)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
END = dt.date(2026, 3, 31)


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def pay(customer, when, amount, currency="EUR", status="succeeded", refunded=0, review="none", captured_at=None):
    succeeded = status == "succeeded"
    return Payment.objects.create(
        customer=customer,
        amount=amount,
        currency=currency,
        method="card",
        payment_method="tok_visa",
        status=status,
        provider="sandbox",
        amount_captured=amount if succeeded else 0,
        captured_at=(captured_at or when) if succeeded else None,
        amount_refunded=refunded,
        review_status=review,
        created=when,
        updated=when,
    )


def refund(payment, when, amount, status="succeeded"):
    return Refund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason="other",
        status=status,
        created=when,
        updated=when,
    )


def subscribe(customer, plan, events):
    sub = Subscription.objects.create(
        customer=customer,
        plan=plan,
        status=events[-1][1],
        billing_cycle_anchor=events[0][0],
        current_period_start=events[0][0],
        current_period_end=events[0][0] + dt.timedelta(days=30),
        created=events[0][0],
        updated=events[-1][0],
    )
    for when, status, mrr in events:
        SubscriptionEvent.objects.create(
            subscription=sub,
            customer_id=customer.pk,
            kind="updated",
            status=status,
            plan_id=plan.pk,
            quantity=1,
            currency=plan.currency,
            mrr=mrr,
            at=when,
        )
    return sub


def alert(key, created, status="open", resolved_at=None):
    return Alert.objects.create(
        severity="high",
        source="manual",
        title=key,
        dedup_key=key,
        status=status,
        reason="test",
        first_seen=created,
        last_seen=created,
        created=created,
        updated=created,
        resolved_at=resolved_at,
    )


@pytest.fixture
def business():
    old = CustomerFactory(created=at("2026-03-01"))  # previous 30 days
    CustomerFactory(created=at("2026-03-28"))  # 7 and 30 days
    CustomerFactory(created=at("2026-03-31", 9))  # today
    CustomerFactory(created=at("2026-01-30"))  # before every window
    p1 = pay(old, at("2026-03-31", 10), 10_000, refunded=500)
    pay(old, at("2026-03-31", 11), 5_000, status="failed")
    pay(old, at("2026-03-30"), 2_000)
    p4 = pay(old, at("2026-03-20"), 7_000, currency="USD", refunded=1_000)
    pay(old, at("2026-03-10"), 3_000, status="failed")
    pay(old, at("2026-02-15"), 4_000)
    pay(old, at("2026-03-31", 12), 9_999, status="requires_capture", review="pending")  # held: only the queue
    pay(old, at("2026-03-31", 12), 1_111, status="canceled", review="approved")  # counted nowhere
    pay(old, at("2026-01-30"), 100)  # before every window
    refund(p1, at("2026-03-31", 12), 500)
    refund(p1, at("2026-03-31", 13), 300, status="failed")
    refund(p4, at("2026-03-21"), 1_000)
    eur = Plan.objects.create(name="EUR", amount=3_000, currency="EUR", interval="month", created=at("2026-01-01"))
    usd = Plan.objects.create(name="USD", amount=1_200, currency="USD", interval="month", created=at("2026-01-01"))
    subscribe(old, eur, [(at("2026-03-01"), "active", 3_000), (at("2026-03-31", 8), "active", 6_000)])
    subscribe(old, usd, [(at("2026-03-27"), "active", 1_200), (at("2026-03-31", 13), "canceled", 0)])
    subscribe(old, eur, [(at("2026-03-25"), "trialing", 0)])
    alert("a1", at("2026-03-30"))
    alert("a2", at("2026-03-29"), status="resolved", resolved_at=at("2026-03-31", 10))
    alert("a3", at("2026-03-31", 12), status="acknowledged")
    for when, score, state in ((at("2026-03-31", 13), 100, "ok"), (at("2026-03-31", 14), 87, "degraded")):
        HealthCheck.objects.create(
            checked_at=when, score=score, state=state, formula="f", components=[], duration_ms=1.0, source="tests"
        )
    return old


def tiles(period=None):
    page = registry.get("overview").build(period or Period(dt.date(2026, 3, 2), END))
    return [{t.key: (t.value, t.previous) for t in section.tiles} for section in page.sections], page


def test_overview_tiles_per_window_with_the_previous_window(business):
    (today, week, month), page = tiles()
    assert [s.title for s in page.sections] == ["Today", "Last 7 days", "Last 30 days"]
    assert today == {
        "gross_today_eur": (10_000, 2_000),
        "success_rate_today": (Decimal("0.5000"), Decimal("1.0000")),
        "failed_today": (1, 0),
        "refunds_today": (1, 0),
        "refunded_today_eur": (500, 0),
        "new_customers_today": (1, 0),
        "active_subscriptions_today": (1, 2),
        "mrr_today_eur": (6_000, 3_000),
        "mrr_today_usd": (0, 1_200),
        "review_queue": (1, None),
        "open_alerts": (2, 2),
        "health_score": (87, None),
    }
    assert week == {
        "gross_7d_eur": (12_000, 0),
        "gross_7d_usd": (0, 7_000),
        "success_rate_7d": (Decimal("0.6667"), Decimal("1.0000")),
        "failed_7d": (1, 0),
        "refunds_7d": (1, 1),
        "refunded_7d_eur": (500, 0),
        "refunded_7d_usd": (0, 1_000),
        "new_customers_7d": (2, 0),
        "active_subscriptions_7d": (1, 1),
        "mrr_7d_eur": (6_000, 3_000),
    }
    assert month == {
        "gross_30d_eur": (12_000, 4_000),
        "gross_30d_usd": (7_000, 0),
        "success_rate_30d": (Decimal("0.6000"), Decimal("1.0000")),
        "failed_30d": (2, 0),
        "refunds_30d": (2, 0),
        "refunded_30d_eur": (500, 0),
        "refunded_30d_usd": (1_000, 0),
        "new_customers_30d": (2, 1),
        "active_subscriptions_30d": (1, 1),
        "mrr_30d_eur": (6_000, 3_000),
    }
    by_key = {t.key: t for s in page.sections for t in s.tiles}
    assert by_key["gross_today_eur"].text == "100.00 EUR"
    assert by_key["gross_today_eur"].change == {"text": "+400.0 %", "direction": "up", "good": True}
    assert by_key["failed_today"].change["good"] is False
    assert by_key["gross_7d_eur"].url == "/admin/dashboards/revenue/?from=2026-03-25&to=2026-03-31"
    assert by_key["review_queue"].url == (
        "/admin/payments/payment/?review_status__exact=pending&status__exact=requires_capture")
    assert by_key["health_score"].url == "/admin/monitoring/healthcheck/"


def test_overview_filtered_to_one_currency(business):
    (today, week, _month), _page = tiles(Period(dt.date(2026, 3, 2), END, "USD"))
    assert today["success_rate_today"] == (None, None)
    assert today["review_queue"] == (0, None)
    assert today["mrr_today_usd"] == (0, 1_200) and "mrr_today_eur" not in today
    assert week["gross_7d_usd"] == (0, 7_000) and "gross_7d_eur" not in week
    assert week["refunded_7d_usd"] == (0, 1_000)


def test_empty_overview_has_every_count_at_zero_and_no_currency_tiles():
    (today, week, _month), _page = tiles()
    assert today == {
        "success_rate_today": (None, None),
        "failed_today": (0, 0),
        "refunds_today": (0, 0),
        "new_customers_today": (0, 0),
        "active_subscriptions_today": (0, 0),
        "review_queue": (0, None),
        "open_alerts": (0, 0),
        "health_score": (None, None),
    }
    assert set(week) == {"success_rate_7d", "failed_7d", "refunds_7d", "new_customers_7d", "active_subscriptions_7d"}


def test_overview_answers_in_a_fixed_number_of_queries(business):
    with CaptureQueriesContext(connection) as queries:
        tiles()
    assert len(queries) == 7  # payment days (2: not built), new customers, MRR, alerts, review queue, health
    for i in range(3):  # more rows, the same queries
        pay(business, at("2026-03-29"), 100 + i)
        refund(Payment.objects.first(), at("2026-03-29"), 1)
    with CaptureQueriesContext(connection) as queries:
        tiles()
    assert len(queries) == 7


def test_gross_counts_captures_by_their_day_as_the_revenue_page_does(business):
    from monitoring.analytics.revenue import revenue_totals

    # Authorised on the 20th, captured today: today's gross, not that of the 20th's windows.
    pay(business, at("2026-03-20"), 4_500, currency="USD", captured_at=at("2026-03-31", 9))
    (today, week, month), _page = tiles()
    assert (today["gross_today_usd"], week["gross_7d_usd"], month["gross_30d_usd"]) == (
        (4_500, 0), (4_500, 7_000), (11_500, 0))
    for key, period in (("gross_today_usd", Period(END, END)), ("gross_7d_usd", Period(dt.date(2026, 3, 25), END)),
                        ("gross_30d_usd", Period(dt.date(2026, 3, 2), END))):
        assert revenue_totals(period)["USD"]["gross"] == {**today, **week, **month}[key][0]


def test_admin_home_shows_the_overview(business, staff_client):
    body = staff_client("admin").get("/admin/").content.decode()
    assert 'data-tile="gross_today_eur"' in body
    assert "100.00 EUR" in body
    assert 'data-tile="health_score"' in body


def test_rest_dashboard_metrics(business, api):
    data = api.get("/api/v1/analytics/dashboard?to=2026-03-31").json()
    assert data["object"] == "dashboard_metrics" and data["as_of"] == "2026-03-31T15:00:00Z"
    assert [(w["window"], w["from"], w["to"], w["previous_from"], w["previous_to"]) for w in data["windows"]] == [
        ("today", "2026-03-31", "2026-03-31", "2026-03-30", "2026-03-30"),
        ("7d", "2026-03-25", "2026-03-31", "2026-03-18", "2026-03-24"),
        ("30d", "2026-03-02", "2026-03-31", "2026-01-31", "2026-03-01"),
    ]
    today = {t["key"]: t for t in data["windows"][0]["tiles"]}
    assert today["gross_today_eur"] == {
        "key": "gross_today_eur",
        "label": "Gross volume EUR",
        "kind": "money",
        "currency": "EUR",
        "value": "100.00",
        "previous": "20.00",
        "change": "4.0000",
        "url": "/admin/dashboards/revenue/?from=2026-03-31&to=2026-03-31",
    }
    assert (today["success_rate_today"]["value"], today["success_rate_today"]["change"]) == ("0.5000", "-0.5000")
    assert (today["failed_today"]["value"], today["failed_today"]["change"]) == ("1", None)
    assert (today["health_score"]["value"], today["health_score"]["previous"]) == ("87", None)
    week = {t["key"]: t for t in data["windows"][1]["tiles"]}
    assert (week["gross_7d_usd"]["value"], week["gross_7d_usd"]["change"]) == ("0.00", "-1.0000")
    usd = api.get("/api/v1/analytics/dashboard?to=2026-03-31&currency=usd").json()
    assert usd["currency"] == "USD"
    assert "gross_today_eur" not in {t["key"] for t in usd["windows"][0]["tiles"]}
    earlier = api.get("/api/v1/analytics/dashboard?to=2026-03-20").json()
    assert earlier["as_of"] == "2026-03-21T00:00:00Z"
    assert {t["key"]: t["value"] for t in earlier["windows"][0]["tiles"]}["gross_today_usd"] == "70.00"


def test_rest_dashboard_refuses_bad_input_and_keys_without_scope_or_permission(business, client_for):

    ok = client_for("analytics:read")
    assert ok.get("/api/v1/analytics/dashboard").status_code == 200
    for query, code in (
        ("to=2026-02-30", "validation_error"),
        ("currency=XXX", "unsupported_currency"),
        ("from=2026-03-01", "validation_error"),
    ):
        response = ok.get(f"/api/v1/analytics/dashboard?{query}")
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), query
    denied = client_for("payments:read")
    response = denied.get("/api/v1/analytics/dashboard")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")
    response = client_for("analytics:read", role=None).get("/api/v1/analytics/dashboard")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_mcp_dashboard_metrics(business, mcp, mcp_for):  # noqa: F811  (fixtures imported above)
    assert "get_dashboard_metrics" in mcp.tool_names()
    data = mcp.ok("get_dashboard_metrics", {"to": "2026-03-31"})
    month = {t["key"]: t for t in data["windows"][2]["tiles"]}
    assert (month["mrr_30d_eur"]["value"], month["mrr_30d_eur"]["previous"], month["mrr_30d_eur"]["change"]) == (
        "60.00",
        "30.00",
        "1.0000",
    )
    assert mcp.error("get_dashboard_metrics", {"currency": "XXX"})["code"] == "unsupported_currency"
    assert mcp_for("payments:read").error("get_dashboard_metrics", {})["code"] == "insufficient_scope"


def test_tile_links_open_the_filtered_changelists(business, staff_client):
    client = staff_client("admin")
    (today, _week, _month), page = tiles()
    by_key = {t.key: t for s in page.sections for t in s.tiles}
    for key, count in (("failed_today", 1), ("refunds_today", 1), ("review_queue", 1), ("open_alerts", 2)):
        response = client.get(by_key[key].url)
        assert response.status_code == 200, key
        assert response.context["cl"].result_count == count, key


def test_the_review_queue_tile_counts_what_the_fraud_page_and_the_api_queue_hold(business):
    from monitoring.analytics import fraud
    from payments.risk.selectors import review_queue

    old = business
    # Held for review, then its authorisation failed: nothing is left to decide, so no queue shows it.
    pay(old, at("2026-03-31", 14), 2_500, status="failed", review="pending")
    (today, _week, _month), _page = tiles()
    queue = fraud.review_queue(Period(dt.date(2026, 3, 2), END))
    assert today["review_queue"][0] == queue["count"] == len(review_queue().items) == 1


def test_the_home_shows_the_overview_only_to_staff_who_may_view_payments(business, staff_client):
    # As get_dashboard_metrics: the tiles are the business's volume, MRR and queues.
    no_role = staff_client(None)
    home = no_role.get("/admin/")
    assert home.status_code == 200 and "overview" not in home.context
    assert b'data-dashboard="overview"' not in home.content
    assert no_role.get("/admin/dashboards/overview/?format=json").status_code == 403
    admin_home = staff_client("admin").get("/admin/")
    assert admin_home.context["overview"].sections and b'data-dashboard="overview"' in admin_home.content
