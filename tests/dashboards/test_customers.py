"""The customers page and analyze_user_behavior: RFM scores and segments, cohorts, top and new customers, one
customer's behaviour, over rows the tests create (March 2026; the previous period is 29 Jan - 28 Feb)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer
from monitoring.analytics import customers as analytics
from monitoring.dashboards.period import Period
from monitoring.services_rollups import customer_activity_refresh
from payments.models import Payment
from tests.adminurls import admin_url
from tests.factories import CustomerFactory
from tests.mcp.conftest import mcp, mcp_for  # noqa: F401  (the MCP client fixtures)

pytestmark = pytest.mark.django_db

MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
QUERY = "from=2026-03-01&to=2026-03-31"


def at(day: str, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=dt.UTC)


def pay(customer, when, amount, currency="EUR", status="succeeded", method="card", refunded=0):
    captured = amount if status == "succeeded" else 0
    return Payment.objects.create(
        customer=customer,
        amount=amount,
        currency=currency,
        method=method,
        payment_method="tok_visa",
        status=status,
        provider="sandbox",
        amount_captured=captured,
        amount_refunded=refunded,
        created=when,
        updated=when,
    )


@pytest.fixture
def shop():
    """A-E pay in March (A 3x, B 2x, D in EUR and USD); B and F first paid in February; E first paid in 2024."""
    a = CustomerFactory(name="Alice", created=at("2026-03-20", 10))
    b = CustomerFactory(name="Bob", created=at("2026-02-01"))
    c = CustomerFactory(name="Carol", created=at("2026-03-20", 9))
    d = CustomerFactory(name="Dan", created=at("2026-03-10", 8))
    e = CustomerFactory(name="Eve", created=at("2024-06-01"))
    f = CustomerFactory(name="Fay", created=at("2026-02-01"))
    pay(a, at("2026-03-31", 9), 10_000)
    pay(a, at("2026-03-31", 9, 30), 20_000)
    pay(a, at("2026-03-31", 18), 30_000, method="wallet", refunded=5_000)
    pay(a, at("2026-03-31", 19), 7_000, status="failed")
    pay(b, at("2026-02-15"), 3_000)
    pay(b, at("2026-03-24"), 5_000)
    pay(b, at("2026-03-25"), 5_000)
    pay(c, at("2026-03-20"), 50_000)
    pay(d, at("2026-03-10"), 1_000)
    pay(d, at("2026-03-10", 13), 99_999, currency="USD")
    pay(e, at("2024-06-02"), 500)
    pay(e, at("2026-03-01"), 2_000)
    pay(f, at("2026-02-20"), 4_000)
    pay(f, at("2026-04-01", 0), 8_000)  # after the period: counted nowhere
    customer_activity_refresh(full=True)  # the cohort table and first payments read the rollups
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def test_quintile_scores_use_mid_ranks_so_ties_share_a_score():
    assert analytics.quintile_scores({k: v for k, v in zip("abcde", [10, 20, 30, 40, 50], strict=True)}) == {
        "a": 1,
        "b": 2,
        "c": 3,
        "d": 4,
        "e": 5,
    }
    assert analytics.quintile_scores({"a": 1, "b": 1, "c": 1, "d": 2, "e": 3}) == {
        "a": 2,
        "b": 2,
        "c": 2,
        "d": 4,
        "e": 5,
    }
    assert analytics.quintile_scores({"only": 7}) == {"only": 3}
    assert analytics.quintile_scores({"x": 4, "y": 4}) == {"x": 3, "y": 3}


def test_every_rfm_cell_has_exactly_one_segment():
    for r in range(1, 6):
        for fm in range(1, 6):
            assert len([s for s in analytics.SEGMENTS if r in s.recency and fm in s.fm]) == 1, (r, fm)
    assert analytics.segment_for(5, 5) == "champions" and analytics.segment_for(1, 1) == "lost"


def test_rfm_scores_and_segments(shop):
    scored = analytics.rfm(MARCH).customers
    got = {c.customer_id: (c.recency_days, c.frequency, c.monetary, c.r, c.f, c.m, c.segment) for c in scored.values()}
    s = shop
    assert got == {
        s["a"].pk: (0, 3, {"EUR": 60_000}, 5, 5, 5, "champions"),
        s["b"].pk: (6, 2, {"EUR": 10_000}, 4, 4, 3, "champions"),
        s["c"].pk: (11, 1, {"EUR": 50_000}, 3, 2, 4, "need_attention"),
        # M is the best currency's: alone in USD (3) beats last in EUR (1)
        s["d"].pk: (21, 2, {"EUR": 1_000, "USD": 99_999}, 2, 4, 3, "at_risk"),
        s["e"].pk: (30, 1, {"EUR": 2_000}, 1, 2, 2, "lost"),
    }
    usd = analytics.rfm(Period(MARCH.start, MARCH.end, "USD")).customers
    assert {k: (c.frequency, c.monetary, c.r, c.f, c.m) for k, c in usd.items()} == {
        s["d"].pk: (1, {"USD": 99_999}, 3, 3, 3)
    }
    assert analytics.rfm(Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))).customers == {}


def test_cohort_retention_follows_first_payment_months(shop):
    rows = analytics.cohort_retention(MARCH)
    empty_after = {f"m{i}": None for i in range(2, 13)}
    assert rows == [
        # B and F first paid in February; only B paid again in March
        {"cohort": "2026-02", "customers": 2, "m0": analytics.rate(1, 1), "m1": analytics.rate(1, 2), **empty_after},
        # A, C and D (E's first payment was in 2024, before the table's first month)
        {"cohort": "2026-03", "customers": 3, "m0": analytics.rate(1, 1), "m1": None, **empty_after},
    ]
    assert str(rows[0]["m1"]) == "0.5000"


def test_summary_top_and_new_customers(shop):
    now = analytics.summary(MARCH)
    assert (now.paying_customers, now.repeat_customers, str(now.repeat_rate), now.new_customers) == (5, 3, "0.6000", 3)
    assert now.revenue == {"EUR": (123_000, 5), "USD": (99_999, 1)}
    assert (now.average_revenue("EUR"), now.average_revenue("USD"), now.average_revenue("GBP")) == (
        24_600,
        99_999,
        None,
    )
    before = analytics.summary(MARCH.previous())
    assert (before.paying_customers, before.repeat_customers, before.new_customers) == (2, 0, 2)
    assert before.average_revenue("EUR") == 3_500
    top = [(r["currency"], r["customer_id"], r["volume"], r["payments"]) for r in analytics.top_customers(MARCH)]
    assert top == [
        ("EUR", shop["a"].pk, 60_000, 3),
        ("EUR", shop["c"].pk, 50_000, 1),
        ("EUR", shop["b"].pk, 10_000, 2),
        ("EUR", shop["e"].pk, 2_000, 1),
        ("EUR", shop["d"].pk, 1_000, 1),
        ("USD", shop["d"].pk, 99_999, 1),
    ]
    assert [r["customer_id"] for r in analytics.top_customers(MARCH, limit=2)] == [
        shop["a"].pk,
        shop["c"].pk,
        shop["d"].pk,
    ]
    assert analytics.new_customers_by_day(MARCH) == [
        {"day": "2026-03-10", "signed_up": 1, "first_paid": 1},
        {"day": "2026-03-20", "signed_up": 2, "first_paid": 1},
        {"day": "2026-03-31", "signed_up": 0, "first_paid": 1},
    ]


def test_page_tiles_charts_csv_and_a_bounded_number_of_queries(shop, staff_client):
    from monitoring.dashboards import registry

    page = registry.get("customers").build(MARCH)
    tiles = {t.key: (t.value, t.previous) for t in page.sections[0].tiles}
    assert tiles == {
        "paying_customers": (5, 2),
        "new_customers": (3, 2),
        "repeat_rate": (analytics.rate(3, 5), analytics.rate(0, 2)),
        "arppc_eur": (24_600, 3_500),
        "arppc_usd": (99_999, None),
    }
    assert [c.name for c in page.charts] == [
        "rfm_segments",
        "cohort_retention",
        "top_customers",
        "new_customers_by_day",
    ]
    top = page.chart("top_customers")
    assert top.rows[0]["url"] == admin_url(shop["a"]) and top.table()["rows"][0][0]["url"] == admin_url(shop["a"])
    empty = registry.get("customers").build(Period(dt.date(2023, 1, 1), dt.date(2023, 1, 31)))
    assert [c.name for c in empty.charts] == [c.name for c in page.charts] and all(c.empty for c in empty.charts)

    with CaptureQueriesContext(connection) as queries:
        registry.get("customers").build(MARCH)
    # the snapshot (none); rfm; top; the period's summary from the rfm rows (new customers: 1) and the previous
    # one's (2); cohorts; new customers (2)
    assert len(queries.captured_queries) == 9, [q["sql"] for q in queries.captured_queries]
    client = staff_client("admin")
    response = client.get(f"/admin/dashboards/customers/?{QUERY}")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="chart-rfm_segments-data"' in body and "246.00 EUR" in body
    response = client.get(f"/admin/dashboards/customers/?{QUERY}&format=csv&chart=rfm_segments")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["segment", "label", "customers", "share"]
    assert {r[0]: (r[2], r[3]) for r in rows[1:]} == {
        "champions": ("2", "0.4000"),
        "loyal": ("0", "0.0000"),
        "potential_loyalists": ("0", "0.0000"),
        "new": ("0", "0.0000"),
        "promising": ("0", "0.0000"),
        "need_attention": ("1", "0.2000"),
        "cannot_lose": ("0", "0.0000"),
        "at_risk": ("1", "0.2000"),
        "hibernating": ("0", "0.0000"),
        "lost": ("1", "0.2000"),
    }
    cohort = list(
        csv.reader(
            io.StringIO(
                client.get(f"/admin/dashboards/customers/?{QUERY}&format=csv&chart=cohort_retention").content.decode()
            )
        )
    )
    assert cohort[1][:4] == ["2026-02", "2", "1.0000", "0.5000"]


def test_page_needs_the_customer_view_permission(staff_client, roles):
    from django.contrib.auth.models import Group

    Group.objects.get(name="support").permissions.remove(
        *Group.objects.get(name="support").permissions.filter(codename="view_customer")
    )
    assert staff_client("support").get(f"/admin/dashboards/customers/?{QUERY}").status_code == 403
    assert staff_client("auditor").get(f"/admin/dashboards/customers/?{QUERY}").status_code == 200


def test_rest_all_customers(shop, api):
    response = api.get(f"/api/v1/analytics/customers?{QUERY}&currency=eur")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["from"], body["to"], body["currency"], body["customer"]) == ("2026-03-01", "2026-03-31", "EUR", None)
    population = body["population"]
    assert (
        population["paying_customers"],
        population["repeat_customers"],
        population["repeat_rate"],
        population["new_customers"],
    ) == (5, 2, "0.4000", 3)
    assert population["spending"] == [
        {
            "currency": "EUR",
            "customers": 5,
            "total": "1230.00",
            "average": "246.00",
            "median": "100.00",
            "max": "600.00",
        }
    ]
    assert {s["segment"]: s["customers"] for s in population["segments"] if s["customers"]} == {
        "champions": 2,
        "need_attention": 1,
        "hibernating": 1,
        "lost": 1,
    }


def test_rest_one_customer_and_the_unknown_one(shop, api):
    response = api.get(f"/api/v1/analytics/customers/{shop['a'].pk}?{QUERY}")
    assert response.status_code == 200, response.json()
    one = response.json()["customer"]
    assert one["segment"] == {
        "segment": "champions",
        "recency_score": 5,
        "frequency_score": 5,
        "monetary_score": 5,
        "recency_days": 0,
        "frequency": 3,
    }
    assert one["spending"] == [
        {
            "currency": "EUR",
            "payments": 3,
            "total": "600.00",
            "average": "200.00",
            "median": "200.00",
            "refunded": "50.00",
            "refund_ratio": "0.0833",
        }
    ]
    assert one["preferred_methods"] == [{"method": "card", "payments": 2}, {"method": "wallet", "payments": 1}]
    assert [h for h in one["hours"] if h["payments"]] == [{"hour": 9, "payments": 2}, {"hour": 18, "payments": 1}]
    assert [w for w in one["weekdays"] if w["payments"]] == [{"weekday": "tue", "payments": 3}]
    assert (
        one["payments"],
        one["succeeded"],
        one["failed"],
        one["failure_ratio"],
        one["refunded_payments"],
        one["refunded_payment_ratio"],
    ) == (4, 3, 1, "0.2500", 1, "0.3333")
    assert (one["first_payment_at"], one["last_payment_at"], one["days_active"]) == (
        "2026-03-31T09:00:00Z",
        "2026-03-31T18:00:00Z",
        1,
    )
    assert one["trend"] == [
        {"currency": "EUR", "total": "600.00", "previous_total": "0.00", "payments": 3, "previous_payments": 0}
    ]
    bob = api.get(f"/api/v1/analytics/customers/{shop['b'].pk}?{QUERY}").json()["customer"]
    assert bob["trend"] == [
        {"currency": "EUR", "total": "100.00", "previous_total": "30.00", "payments": 2, "previous_payments": 1}
    ]
    assert bob["first_payment_at"] == "2026-02-15T12:00:00Z"
    fay = api.get(f"/api/v1/analytics/customers/{shop['f'].pk}?{QUERY}").json()["customer"]
    assert (fay["segment"], fay["spending"], fay["failure_ratio"]) == (None, [], None)
    same = api.get(f"/api/v1/analytics/customers?{QUERY}&customer_id={shop['a'].pk}").json()
    assert same["customer"] == one
    for unknown in ("cus_doesnotexist", "pay_wrongprefix"):
        response = api.get(f"/api/v1/analytics/customers/{unknown}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert response.json()["error"]["details"] == {"customer_id": unknown}


def test_rest_refuses_bad_periods_and_keys_without_the_scope_or_permission(shop, client_for):

    ok = client_for("analytics:read")
    assert ok.get(f"/api/v1/analytics/customers?{QUERY}").status_code == 200
    for query, code in (
        ("from=2026-04-01&to=2026-03-01", "invalid_period"),
        ("from=1999-12-31", "validation_error"),
        ("currency=XXX", "unsupported_currency"),
        ("nope=1", "validation_error"),
    ):
        response = ok.get(f"/api/v1/analytics/customers?{query}")
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), query
    denied = client_for("payments:read")
    for url in ("/api/v1/analytics/customers", f"/api/v1/analytics/customers/{shop['a'].pk}"):
        response = denied.get(url)
        assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")
    response = client_for("analytics:read", role=None).get("/api/v1/analytics/customers")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_mcp_tool_for_all_and_one_customer(shop, mcp, mcp_for):  # noqa: F811  (fixtures imported above)
    assert "analyze_user_behavior" in mcp.tool_names()
    assert "analyze_customer_behavior" not in mcp.tool_names()
    everyone = mcp.ok("analyze_user_behavior", {"from": "2026-03-01", "to": "2026-03-31"})
    assert everyone["population"]["paying_customers"] == 5 and everyone["customer"] is None
    assert [s["share"] for s in everyone["population"]["segments"]][:2] == ["0.4000", "0.0000"]
    one = mcp.ok("analyze_user_behavior", {"from": "2026-03-01", "to": "2026-03-31", "customer_id": shop["d"].pk})
    assert one["customer"]["segment"]["segment"] == "at_risk"
    assert one["customer"]["spending"][1] == {
        "currency": "USD",
        "payments": 1,
        "total": "999.99",
        "average": "999.99",
        "median": "999.99",
        "refunded": "0.00",
        "refund_ratio": "0.0000",
    }
    assert mcp.error("analyze_user_behavior", {"customer_id": "cus_nobody"})["code"] == "not_found"
    denied = mcp_for("payments:read")
    assert denied.error("analyze_user_behavior", {})["code"] == "insufficient_scope"


def test_page_filtered_to_one_currency(shop):
    from monitoring.dashboards import registry

    page = registry.get("customers").build(Period(MARCH.start, MARCH.end, "USD"))
    assert {t.key: (t.value, t.previous) for t in page.sections[0].tiles} == {
        "paying_customers": (1, 0),
        "new_customers": (3, 2),
        "repeat_rate": (analytics.rate(0, 1), None),
        "arppc_usd": (99_999, None),
    }
    assert [(r["segment"], r["customers"]) for r in page.chart("rfm_segments").rows if r["customers"]] == [
        ("need_attention", 1)
    ]
    assert [(r["cohort"], r["customers"], str(r["m0"])) for r in page.chart("cohort_retention").rows] == [
        ("2026-03", 1, "1.0000")
    ]
    assert [(r["customer_id"], r["currency"]) for r in page.chart("top_customers").rows] == [(shop["d"].pk, "USD")]
    assert page.chart("new_customers_by_day").rows == [
        {"day": "2026-03-10", "signed_up": 1, "first_paid": 1},
        {"day": "2026-03-20", "signed_up": 2, "first_paid": 0},
    ]


def test_a_summary_from_the_rfm_rows_equals_the_one_counted_from_payments(shop):
    for period in (MARCH, Period(MARCH.start, MARCH.end, "USD"), MARCH.previous()):
        succeeded = Payment.objects.filter(status="succeeded", created__gte=period.since, created__lt=period.until)
        if period.currency:
            succeeded = succeeded.filter(currency=period.currency)
        payments = Counter(succeeded.values_list("customer_id", flat=True))
        revenue: dict[str, tuple[int, int]] = {}
        for currency in sorted(set(succeeded.values_list("currency", flat=True))):
            mine = succeeded.filter(currency=currency)
            revenue[currency] = (sum(mine.values_list("amount_captured", flat=True)),
                                 len(set(mine.values_list("customer_id", flat=True))))
        new = Customer.objects.filter(created__gte=period.since, created__lt=period.until).count()
        expected = analytics.Summary(len(payments), sum(1 for n in payments.values() if n >= 2), new, revenue)
        assert analytics.summary(period, analytics.rfm(period)) == analytics.summary(period) == expected
    assert analytics.summary(MARCH).paying_customers == 5



def test_the_default_period_reads_the_snapshot_while_fresh(shop):
    from monitoring.analytics import customers_snapshot
    from monitoring.models import CustomersSnapshot
    from monitoring.services_rollups import customers_snapshot_refresh

    now = dt.datetime(2026, 3, 31, 20, tzinfo=dt.UTC)
    period = customers_snapshot.default_period(now)
    assert (period.start, period.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 31))
    computed = customers_snapshot.compute(period)
    snapshot = customers_snapshot_refresh(now=now)
    assert (snapshot.start, snapshot.end, snapshot.currency, snapshot.computed_at) == (
        period.start, period.end, "", now)
    read = customers_snapshot.figures(period, now=now + dt.timedelta(minutes=9))
    assert read.computed_at == now
    assert (read.segments, read.top, read.now, read.before) == (
        computed.segments, analytics.with_names(computed.top), computed.now, computed.before)
    from core import clock
    from monitoring.dashboards import registry

    with clock.frozen_at(now + dt.timedelta(minutes=9)):
        page = registry.get("customers").build(period)
    assert any("as of 2026-03-31 20:00 UTC" in note for note in page.notes)  # from the snapshot ...
    assert page.chart("top_customers").rows[0]["customer"] == "Alice"  # ... named when read
    # No personal data in the snapshot: names and e-mails are read with the page.
    # Names as whole words: a three-letter name ("Dan") turns up inside a random customer id now and then.
    stored = str(snapshot.data)
    assert [c.name for c in shop.values() if re.search(rf"\b{re.escape(c.name)}\b", stored)] == []
    assert [c.email for c in shop.values() if c.email in stored] == []
    assert shop["a"].id in stored  # the snapshot refers to its customers by id
    # Sign-ups are counted with the page too (the tile agrees with the new-customers chart beside it).
    CustomerFactory(created=at("2026-03-31", 19))
    assert customers_snapshot.figures(period, now=now + dt.timedelta(minutes=9)).now.new_customers == (
        computed.now.new_customers + 1)
    # Read, not recomputed: a changed snapshot shows ...
    snapshot.data["now"]["paying_customers"] = 999
    snapshot.save()
    assert customers_snapshot.figures(period, now=now + dt.timedelta(minutes=9)).now.paying_customers == 999
    # ... while fresh and for that very period only.
    assert customers_snapshot.figures(period, now=now + dt.timedelta(minutes=11)).computed_at is None
    assert customers_snapshot.figures(MARCH, now=now).computed_at is None
    usd = Period(period.start, period.end, "USD")
    assert customers_snapshot.figures(usd, now=now).computed_at is None
    # A refresh the next day replaces it.
    customers_snapshot_refresh(now=now + dt.timedelta(days=1))
    assert list(CustomersSnapshot.objects.values_list("end", flat=True)) == [dt.date(2026, 4, 1)]
