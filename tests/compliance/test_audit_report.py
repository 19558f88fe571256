"""The audit report of a period: exact counts, totals and exceptions of planted events, computed by
the database; at the selector, over REST (validation, scope and permission refusals)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance import selectors
from core import clock
from core.models import AuditEvent
from payments import services as payment_services

from .report_data import WEEK, plant_week

pytestmark = pytest.mark.django_db

URL = "/api/v1/compliance/audit-report"
OUTCOMES = {"success": 0, "failure": 0, "denied": 0}


@pytest.fixture
def week(make_staff, customer):
    return plant_week(make_staff, customer)


def _outcomes(**counts):
    return {**OUTCOMES, **counts}


def expected_report(week):
    return {
        "period": {"from": "2026-03-02", "to": "2026-03-08", "starts_at": "2026-03-02T00:00:00Z",
                   "ends_before": "2026-03-09T00:00:00Z"},
        "total_events": 12,
        "by_outcome": {"success": 10, "failure": 2, "denied": 0},
        "by_action": [
            {"action": "refund.created", "count": 3, "outcomes": _outcomes(success=3)},
            {"action": "wallet.adjusted", "count": 2, "outcomes": _outcomes(success=2)},
            {"action": "compliance.audit_report_downloaded", "count": 1, "outcomes": _outcomes(success=1)},
            {"action": "login.otp_failed", "count": 1, "outcomes": _outcomes(failure=1)},
            {"action": "login.password_failed", "count": 1, "outcomes": _outcomes(failure=1)},
            {"action": "mcp.approval.approved", "count": 1, "outcomes": _outcomes(success=1)},
            # the legacy name "payment.review_rejectd" folded into its current name
            {"action": "payment.review_rejected", "count": 1, "outcomes": _outcomes(success=1)},
            {"action": "staff_user.role_changed", "count": 1, "outcomes": _outcomes(success=1)},
            {"action": "wallet.created", "count": 1, "outcomes": _outcomes(success=1)},
        ],
        "by_actor": _actors(week),
        "money_totals": [
            {"action": "refund.created", "currency": "JPY", "count": 1, "total": "150000"},
            {"action": "refund.created", "currency": "USD", "count": 2, "total": "2499.99"},
            # the adjustments' currency is their wallet's (their details carry none): +50.00 - 10.00
            {"action": "wallet.adjusted", "currency": "USD", "count": 2, "total": "40.00"},
        ],
        "exceptions": [
            {"kind": "large_refunds", "title": "Refunds at or above AUDIT_REPORT_LARGE_REFUND", "count": 2,
             "event_ids": week.ids("refund_large_jpy", "refund_large_usd"), "more": 0},
            {"kind": "manual_adjustments", "title": "Staff balance adjustments and ledger reversals", "count": 2,
             "event_ids": week.ids("adjust_weekend", "adjust_in_hours"), "more": 0},
            {"kind": "approval_decisions", "title": "Approval and risk-review decisions", "count": 2,
             "event_ids": week.ids("review_rejected_legacy", "approval_approved"), "more": 0},
            {"kind": "failed_logins", "title": "Failed logins (password or second factor)", "count": 2,
             "event_ids": week.ids("otp_failed", "password_failed"), "more": 0},
            {"kind": "role_changes", "title": "Staff users created, their roles or permissions changed", "count": 1,
             "event_ids": week.ids("role_changed"), "more": 0},
            # Wednesday 22:30, Saturday 11:00 and Sunday 23:59:59 by staff; not Monday 10:05 (in hours)
            # nor the system's and the anonymous failed logins.
            {"kind": "off_hours_staff_activity", "title": "Staff user events outside business hours (UTC)",
             "count": 3, "event_ids": week.ids("report_downloaded", "adjust_weekend", "role_changed"), "more": 0},
            {"kind": "exports", "title": "Data exports and report downloads", "count": 1,
             "event_ids": week.ids("report_downloaded"), "more": 0},
        ],
    }


def test_report_of_the_week_counts_totals_and_exceptions(week):
    expected = expected_report(week)
    with clock.frozen_at(dt.datetime(2026, 3, 10, 8, tzinfo=dt.UTC)):
        report = selectors.audit_report(start=WEEK[0], end=WEEK[1])
    assert report.pop("generated_at") == "2026-03-10T08:00:00Z"
    assert report == expected


def _actors(week):
    # Ties (4 and 2 events) are ordered by actor type, then id.
    alice, bob = str(week.alice.pk), str(week.bob.pk)
    return [
        {"type": "system", "id": "tests", "label": "tests", "count": 4},
        {"type": "user", "id": bob, "label": "bob", "count": 4},
        {"type": "system", "id": "anonymous", "label": "anonymous", "count": 2},
        {"type": "user", "id": alice, "label": "alice", "count": 2},
    ]


def test_period_days_are_utc_and_to_is_inclusive(week):
    monday = selectors.audit_report(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 2))
    assert monday["total_events"] == 2
    assert [a["action"] for a in monday["by_action"]] == ["wallet.adjusted", "wallet.created"]
    sunday = selectors.audit_report(start=dt.date(2026, 3, 8), end=dt.date(2026, 3, 8))
    assert sunday["total_events"] == 1  # 23:59:59 is still Sunday
    around = selectors.audit_report(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 9))
    assert around["total_events"] == 14  # the Sunday before and the Monday after
    assert around["exceptions"][0]["count"] == 3  # the 5000.00 USD refund of the Monday after


def test_exception_lists_are_capped_and_counts_exact(week, settings):
    settings.AUDIT_REPORT_EVENTS_PER_EXCEPTION = 1
    report = selectors.audit_report(start=WEEK[0], end=WEEK[1])
    off_hours = next(e for e in report["exceptions"] if e["kind"] == "off_hours_staff_activity")
    assert off_hours["count"] == 3 and off_hours["event_ids"] == week.ids("report_downloaded")
    assert off_hours["more"] == 2


def test_thresholds_and_business_hours_are_settings(week, settings):
    settings.AUDIT_REPORT_LARGE_REFUND = {"*": "999.99"}  # every currency: 999.99 of its major units
    settings.AUDIT_REPORT_BUSINESS_HOURS = (0, 23)
    settings.AUDIT_REPORT_BUSINESS_DAYS = (1, 2, 3, 4, 5, 6, 7)
    report = selectors.audit_report(start=WEEK[0], end=WEEK[1])
    kinds = {e["kind"]: e for e in report["exceptions"]}
    # USD 999.99 is now large; JPY 150000 too (threshold 999 JPY: no decimals)
    assert kinds["large_refunds"]["event_ids"] == week.ids("refund_large_jpy", "refund_small_usd", "refund_large_usd")
    # only the Sunday 23:59:59 download is outside 00:00-23:00 on any day
    assert kinds["off_hours_staff_activity"]["event_ids"] == week.ids("report_downloaded")
    assert selectors.large_refund_thresholds()["JPY"] == 999
    assert selectors.large_refund_thresholds()["KWD"] == 999_990


def test_default_large_refund_thresholds():
    thresholds = selectors.large_refund_thresholds()
    assert (thresholds["USD"], thresholds["EUR"], thresholds["JPY"], thresholds["KWD"]) == (
        100_000, 100_000, 150_000, 1_000_000)


def test_real_refund_takes_its_currency_from_the_refund(one_sandbox, customer, actor):
    with clock.frozen_at(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)):
        payment = payment_services.payment_create(actor=actor, customer_id=customer.pk, amount=250_000,
                                                  currency="EUR", method="card", payment_method="tok_visa")
        refund = payment_services.refund_create(actor=actor, payment_id=payment.pk, amount=120_000)
    report = selectors.audit_report(start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 1))
    created = AuditEvent.objects.get(action="refund.created", object_id=refund.pk)
    assert "currency" not in created.details
    assert {"action": "refund.created", "currency": "EUR", "count": 1, "total": "1200.00"} in report["money_totals"]
    assert report["exceptions"][0] == {"kind": "large_refunds", "count": 1, "event_ids": [created.pk], "more": 0,
                                       "title": "Refunds at or above AUDIT_REPORT_LARGE_REFUND"}


def test_report_is_a_fixed_number_of_queries(week):
    with CaptureQueriesContext(connection) as few:
        selectors.audit_report(start=WEEK[0], end=WEEK[1])
    with CaptureQueriesContext(connection) as again:  # more events (the days around): no query per event
        selectors.audit_report(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 9))
    assert len(few.captured_queries) == len(again.captured_queries) <= 12


# --- REST -------------------------------------------------------------------------------------------


def test_rest_report(week, client_for):
    client = client_for("compliance:read", role="auditor")
    response = client.get(URL, {"from": "2026-03-02", "to": "2026-03-08"})
    assert response.status_code == 200, response.content
    body = response.json()
    body.pop("generated_at")
    assert body == expected_report(week)


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"from": "2026-03-08", "to": "2026-03-02"}, "from", "Must be on or before to."),
    ({"from": "2026-02-30", "to": "2026-03-02"}, "from", "Use a date as YYYY-MM-DD."),
    ({"from": "2026-03-02", "to": "2026-3-8"}, "to", "Use a date as YYYY-MM-DD."),
    ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-08"}, "from", "Use a date as YYYY-MM-DD."),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "to", "A report covers at most 366 days."),
    ({"from": "1999-12-31", "to": "2000-01-01"}, "from", "Dates must be from 2000-01-01 to 2100-12-31 (UTC)."),
    ({"to": "2026-03-08"}, "from", "This field is required."),
    ({"from": "2026-03-02", "to": "2026-03-08", "actor_id": "1"}, "actor_id", "Unknown field."),
])
def test_rest_report_validation(client_for, query, field, message):
    response = client_for("compliance:read", role="auditor").get(URL, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["fields"][field] == [message]


def test_a_leap_year_period_of_366_days_is_allowed(client_for):
    response = client_for("compliance:read", role="auditor").get(URL, {"from": "2024-01-01", "to": "2024-12-31"})
    assert response.status_code == 200
    assert response.json()["total_events"] == 0


@pytest.mark.parametrize(("scopes", "role", "status", "code"), [
    ("payments:read", "auditor", 403, "insufficient_scope"),
    ("compliance:read", "support", 403, "permission_denied"),
])
def test_rest_report_refusals(client_for, scopes, role, status, code):
    client = client_for(scopes, role=role)
    count = AuditEvent.objects.count()
    response = client.get(URL, {"from": "2026-03-02", "to": "2026-03-08"})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert AuditEvent.objects.count() == count  # reading (or being refused) records nothing here
