"""Custom reports: the whitelisted definition, the numbers it computes, REST and MCP (generate_custom_report), and
the admin report builder (run, CSV, save audited)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from core.errors import DomainError
from core.models import AuditEvent
from monitoring.analytics import reports
from monitoring.models import SavedReport
from payments.models import Payment, Refund
from tests.mcp.conftest import McpClient

pytestmark = pytest.mark.django_db

D1 = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
D2 = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


def _pay(
    customer,
    created,
    amount,
    currency="USD",
    status="succeeded",
    method="card",
    provider="sandbox",
    brand="visa",
    country="US",
    fee=0,
):
    captured = amount if status == "succeeded" else 0
    return Payment.objects.create(
        customer=customer,
        amount=amount,
        currency=currency,
        method=method,
        payment_method="tok_visa",
        card_brand=brand,
        card_country=country,
        status=status,
        amount_captured=captured,
        fee_amount=fee,
        provider=provider,
        risk_level="low",
        created=created,
        updated=created,
    )


def _refund(payment, amount, created, status="succeeded"):
    return Refund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason="requested_by_customer",
        status=status,
        created=created,
        updated=created,
    )


@pytest.fixture
def data(customer):
    a = _pay(customer, D1, 1000, fee=59)
    _pay(customer, D1, 2001, fee=88)
    _pay(customer, D1, 500, status="failed")
    b = _pay(customer, D2, 3000, currency="EUR", method="bank_transfer", provider="other", brand="", country="FR")
    _pay(customer, dt.datetime(2026, 10, 31, 23, 59, tzinfo=dt.UTC), 7777)  # before the period
    _refund(a, 250, D2)
    _refund(a, 100, D2, status="failed")  # failed refunds are not counted
    _refund(b, 1000, D2)
    return {"a": a, "b": b}


def test_totals_by_day_and_currency_are_exact(data):
    report = reports.report_generate(
        {
            "metrics": [
                "payment_count",
                "gross_volume",
                "success_rate",
                "average_amount",
                "fee_amount",
                "refund_count",
                "refunded_amount",
            ],
            "dimensions": ["day"],
            **PERIOD,
        }
    )
    assert [c.key for c in report.columns] == [
        "day",
        "currency",
        "payment_count",
        "gross_volume",
        "success_rate",
        "average_amount",
        "fee_amount",
        "refund_count",
        "refunded_amount",
    ]
    out = reports.report_output(report)
    assert out["rows"] == [
        {
            "day": "2026-11-02",
            "currency": "USD",
            "payment_count": 3,
            "gross_volume": "30.01",
            "success_rate": "0.6667",
            "average_amount": "15.01",
            "fee_amount": "1.47",
            "refund_count": 0,
            "refunded_amount": "0.00",
        },
        {
            "day": "2026-11-03",
            "currency": "EUR",
            "payment_count": 1,
            "gross_volume": "30.00",
            "success_rate": "1.0000",
            "average_amount": "30.00",
            "fee_amount": "0.00",
            "refund_count": 1,
            "refunded_amount": "10.00",
        },
        {
            "day": "2026-11-03",
            "currency": "USD",
            "payment_count": 0,
            "gross_volume": "0.00",
            "success_rate": None,
            "average_amount": None,
            "fee_amount": "0.00",
            "refund_count": 1,
            "refunded_amount": "2.50",
        },
    ]
    assert out["truncated"] is False


def test_dimensions_filters_and_limit(data):
    out = reports.report_output(
        reports.report_generate(
            {
                "metrics": ["payment_count"],
                "dimensions": ["method", "card_country"],
                "filters": {"currency": ["usd", "EUR"], "status": ["succeeded"]},
                **PERIOD,
            }
        )
    )
    assert out["rows"] == [
        {"method": "bank_transfer", "card_country": "FR", "payment_count": 1},
        {"method": "card", "card_country": "US", "payment_count": 2},
    ]
    out = reports.report_output(
        reports.report_generate({"metrics": ["payment_count"], "dimensions": ["provider"], "limit": 1, **PERIOD})
    )
    assert out["rows"] == [{"provider": "other", "payment_count": 1}] and out["truncated"] is True
    total = reports.report_output(
        reports.report_generate(
            {"metrics": ["payment_count", "refund_count"], "filters": {"country": ["US"]}, **PERIOD}
        )
    )
    assert total["rows"] == [{"payment_count": 3, "refund_count": 1}]


@pytest.mark.parametrize(
    ("definition", "code", "field"),
    [
        ({"metrics": ["payment_count", "drop table"]}, "unknown_report_metric", "metrics"),
        ({"metrics": ["payment_count"], "dimensions": ["customer_email"]}, "unknown_report_dimension", "dimensions"),
        ({"metrics": ["payment_count"], "filters": {"email": ["x"]}}, "unknown_report_filter", "filters"),
        ({"metrics": []}, "invalid_report_definition", "metrics"),
        (
            {"metrics": ["payment_count"], "filters": {"status": ["nope"]}},
            "invalid_report_definition",
            "filters.status",
        ),
        ({"metrics": ["payment_count"], "dimensions": ["day", "week"]}, "invalid_report_definition", "dimensions"),
        ({"metrics": ["payment_count"], "from": "2025-01-01", "to": "2026-01-02"}, "invalid_report_definition", "from"),
        ({"metrics": ["payment_count"], "limit": 1001}, "invalid_report_definition", "limit"),
        ({"metrics": ["payment_count"], "sql": "select 1"}, "invalid_report_definition", "sql"),
    ],
)
def test_bad_definitions_are_refused_with_stable_codes(definition, code, field):
    with pytest.raises(DomainError) as caught:
        reports.validate_definition({**PERIOD, **definition})
    assert caught.value.code == code and caught.value.details["field"] == field
    if code == "unknown_report_metric":
        assert caught.value.details["allowed"] == list(reports.METRICS)
        assert caught.value.details["unknown"] == ["drop table"]


def test_rest_runs_a_definition_and_a_saved_report(data, client_for, actor):
    client = client_for(["analytics:read"])
    body = {"metrics": ["gross_volume"], "dimensions": ["currency"], **PERIOD}
    response = client.post("/api/v1/analytics/reports", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rows"] == [
        {"currency": "EUR", "gross_volume": "30.00"},
        {"currency": "USD", "gross_volume": "30.01"},
    ]
    assert response.json()["columns"][1] == {"key": "gross_volume", "label": "Gross volume", "kind": "money"}
    from monitoring.services_reports import saved_report_save

    saved = saved_report_save(
        actor=actor,
        name="USD volume",
        definition={"metrics": ["payment_count"], "filters": {"currency": ["USD"]}, **PERIOD},
    )
    response = client.post(
        "/api/v1/analytics/reports",
        {"saved_report_id": saved.pk, "from": "2026-11-03", "to": "2026-11-03"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["rows"] == [{"payment_count": 0}]
    assert response.json()["definition"]["from"] == "2026-11-03"
    missing = client.post("/api/v1/analytics/reports", {"saved_report_id": "srpt_nope"}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_rest_refusals_and_scope(data, client_for):
    count = SavedReport.objects.count()
    client = client_for(["analytics:read"])
    bad = client.post("/api/v1/analytics/reports", {"metrics": ["revenue_per_hour"], **PERIOD}, format="json")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "unknown_report_metric" and "gross_volume" in error["details"]["allowed"]
    denied = client_for(["payments:read"]).post(
        "/api/v1/analytics/reports", {"metrics": ["payment_count"], **PERIOD}, format="json"
    )
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope"
    assert SavedReport.objects.count() == count


def test_mcp_tool_answers_the_same_rows(data, make_key):
    mcp = McpClient(make_key(["analytics:read"]).raw_key)
    result = mcp.ok(
        "generate_custom_report", {"metrics": ["refund_count", "refunded_amount"], "dimensions": ["method"], **PERIOD}
    )
    assert result["rows"] == [
        {"method": "bank_transfer", "currency": "EUR", "refund_count": 1, "refunded_amount": "10.00"},
        {"method": "card", "currency": "USD", "refund_count": 1, "refunded_amount": "2.50"},
    ]
    error = mcp.error("generate_custom_report", {"metrics": ["payment_count"], "filters": {"iban": ["x"]}, **PERIOD})
    assert error["code"] == "unknown_report_filter"


def _builder_post(client, **extra):
    data = {
        "metrics": ["payment_count", "gross_volume"],
        "dimensions": ["day"],
        "date_from": "2026-11-01",
        "date_to": "2026-11-30",
        "limit": 100,
        **extra,
    }
    return client.post("/admin/monitoring/savedreport/builder/", data)


def test_builder_runs_downloads_csv_and_saves_audited(data, staff_client):
    client = staff_client("admin")
    page = _builder_post(client, action="run")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="chart-report-data"' in body and "30.01 USD" in body
    download = _builder_post(client, action="csv")
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(download.content.decode()))) == [
        ["day", "currency", "payment_count", "gross_volume"],
        ["2026-11-02", "USD", "3", "30.01"],
        ["2026-11-03", "EUR", "1", "30.00"],
    ]
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    saved = _builder_post(client, action="save", name="Daily volume")
    assert saved.status_code == 302
    report = SavedReport.objects.get()
    assert report.name == "Daily volume" and report.owner == client.user
    assert report.definition == {
        "metrics": ["payment_count", "gross_volume"],
        "dimensions": ["day"],
        "filters": {},
        "from": "2026-11-01",
        "to": "2026-11-30",
        "limit": 100,
    }
    events = list(AuditEvent.objects.exclude(pk__in=before))
    assert [e.action for e in events] == ["saved_report.created"]
    assert events[0].object_id == report.pk
    listing = client.get("/admin/monitoring/savedreport/")
    assert listing.status_code == 200 and f"builder/?report={report.pk}" in listing.content.decode()
    empty_form = client.get("/admin/monitoring/savedreport/builder/")
    assert empty_form.status_code == 200 and 'name="csrfmiddlewaretoken"' in empty_form.content.decode()
    rerun = client.get(saved["Location"])
    assert rerun.status_code == 200 and "30.01 USD" in rerun.content.decode()


def test_builder_refusals_change_nothing(data, staff_client):
    client, support = staff_client("admin"), staff_client("support")
    before = AuditEvent.objects.count()
    unnamed = _builder_post(client, action="save", name="")
    assert unnamed.status_code == 400 and "invalid_report_definition" in unnamed.content.decode()
    bad = _builder_post(client, action="run", metrics=["nope"])
    assert bad.status_code == 400
    assert SavedReport.objects.count() == 0 and AuditEvent.objects.count() == before
    assert _builder_post(support, action="save", name="x").status_code == 403
    assert client.get("/admin/monitoring/savedreport/builder/?report=srpt_nope").status_code == 404
    assert SavedReport.objects.count() == 0 and AuditEvent.objects.count() == before


def test_week_and_month_buckets_and_two_queries(data):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    definition = {"metrics": ["payment_count", "refund_count"], "dimensions": ["week"], **PERIOD}
    with CaptureQueriesContext(connection) as queries:
        out = reports.report_output(reports.report_generate(definition))
    assert len(queries) == 2  # one aggregate over payments, one over refunds, whatever the rows
    # 2026-11-02 is a Monday: both days fall in its week
    assert out["rows"] == [{"week": "2026-11-02", "payment_count": 4, "refund_count": 2}]
    monthly = reports.report_output(
        reports.report_generate({"metrics": ["payment_count"], "dimensions": ["month"], **PERIOD})
    )
    assert monthly["rows"] == [{"month": "2026-11-01", "payment_count": 4}]


def test_admin_form_change_is_audited_and_a_bad_definition_changes_nothing(staff_client, actor):
    from monitoring.services_reports import saved_report_save
    from tests.adminurls import admin_url

    saved = saved_report_save(actor=actor, name="Old", definition={"metrics": ["payment_count"], **PERIOD})
    client = staff_client("admin")
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    bad = client.post(admin_url(saved), {"name": "New", "definition": '{"metrics": ["nope"]}'})
    assert bad.status_code == 200 and "unknown_report_metric" in bad.content.decode()
    saved.refresh_from_db()
    assert saved.name == "Old" and not AuditEvent.objects.exclude(pk__in=before).exists()
    good = client.post(
        admin_url(saved),
        {"name": "New", "definition": '{"metrics": ["gross_volume"], "from": "2026-11-01", "to": "2026-11-02"}'},
    )
    assert good.status_code == 302
    saved.refresh_from_db()
    assert saved.name == "New" and saved.definition["metrics"] == ["gross_volume"]
    assert saved.definition["limit"] == 100 and saved.owner is None
    assert [e.action for e in AuditEvent.objects.exclude(pk__in=before)] == ["saved_report.updated"]


def test_report_rates_and_averages_round_half_up_as_every_other_rate():
    from decimal import Decimal

    from monitoring.analytics.reports import _finish

    finished = _finish({"succeeded_count": 1, "_finished": 32, "_succeeded_amount": 5}, ["success_rate",
                                                                                        "average_amount"])
    assert finished == {"success_rate": Decimal("0.0313"), "average_amount": 5}  # 0.03125 -> up; 5 / 1
    assert _finish({"succeeded_count": 2, "_succeeded_amount": 5}, ["average_amount"]) == {"average_amount": 3}
    assert _finish({}, ["success_rate", "average_amount"]) == {"success_rate": None, "average_amount": None}
