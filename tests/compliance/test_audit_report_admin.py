"""The audit report page of the admin: a period (default the last 7 UTC days), the report with exact
numbers, CSV and JSON downloads (each download audited), and who may see it."""

import datetime as dt
import json

import pytest

from compliance import selectors
from core import clock
from core.models import AuditEvent
from tests.adminurls import admin_url

from .report_data import WEEK, plant_week

pytestmark = pytest.mark.django_db

PAGE = "/admin/core/auditevent/report/"


@pytest.fixture
def week(make_staff, customer):
    return plant_week(make_staff, customer)


@pytest.fixture
def auditor(staff_client):
    return staff_client("auditor")


def expected_csv(week):
    alice, bob = week.alice.pk, week.bob.pk
    return "\r\n".join([
        "section,key,count,total",
        "period,2026-03-02..2026-03-08,12,",
        "outcome,success,10,", "outcome,failure,2,", "outcome,denied,0,",
        "action,refund.created,3,", "action,wallet.adjusted,2,", "action,compliance.audit_report_downloaded,1,",
        "action,login.otp_failed,1,", "action,login.password_failed,1,", "action,mcp.approval.approved,1,",
        "action,payment.review_rejected,1,", "action,staff_user.role_changed,1,", "action,wallet.created,1,",
        "actor,system:tests,4,", f"actor,user:{bob} (bob),4,", "actor,system:anonymous,2,",
        f"actor,user:{alice} (alice),2,",
        "money,refund.created JPY,1,150000", "money,refund.created USD,2,2499.99", "money,wallet.adjusted USD,2,40.00",
        "exception,large_refunds,2,", "exception,manual_adjustments,2,", "exception,approval_decisions,2,",
        "exception,failed_logins,2,", "exception,role_changes,1,", "exception,off_hours_staff_activity,3,",
        "exception,exports,1,",
    ]) + "\r\n"


def test_page_shows_the_report_with_exact_numbers(week, auditor):
    count = AuditEvent.objects.count()
    response = auditor.get(PAGE, {"from": "2026-03-02", "to": "2026-03-08"})
    assert response.status_code == 200
    report = response.context["report"]
    report.pop("generated_at")
    expected = selectors.audit_report(start=WEEK[0], end=WEEK[1])
    expected.pop("generated_at")
    assert report == expected
    html = response.content.decode()
    assert '<div class="bo-value" id="report-total">12</div>' in html
    assert "<td>Staff user events outside business hours (UTC)</td><td class=\"bo-num\">3</td>" in html
    assert '<td>refund.created</td><td>USD</td><td class="bo-num">2</td><td class="bo-num">2499.99</td>' in html
    assert '<td>wallet.adjusted</td><td>USD</td><td class="bo-num">2</td><td class="bo-num">40.00</td>' in html
    for name in ("refund_large_jpy", "refund_large_usd"):
        event = week.events[name]
        assert f'<a href="{admin_url(event)}">{event.pk}</a>' in html
    assert AuditEvent.objects.count() == count  # reading the report records nothing


def test_default_period_is_the_last_seven_utc_days(week, auditor):
    with clock.frozen_at(dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC)):
        response = auditor.get(PAGE)
    assert response.status_code == 200
    assert response.context["report"]["period"]["from"] == "2026-03-02"
    assert response.context["report"]["period"]["to"] == "2026-03-08"
    # the download event at 23:59:59 was planted later than "now", it is in the period all the same
    assert response.context["report"]["total_events"] == 12


def test_csv_download_is_exact_and_audited(week, auditor):
    response = auditor.post(PAGE, {"from": "2026-03-02", "to": "2026-03-08", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audit-report-2026-03-02-2026-03-08.csv"'
    assert response.content.decode() == expected_csv(week)
    event = AuditEvent.objects.filter(action="compliance.audit_report_downloaded").order_by("-occurred_at")[0]
    assert (event.actor_type, event.actor_id, event.object_type, event.object_id) == (
        "user", str(auditor.user.pk), "compliance.auditreport", "2026-03-02..2026-03-08")
    assert event.details == {"from": "2026-03-02", "to": "2026-03-08", "format": "csv", "total_events": 12}


def test_json_download_is_the_report_and_audited(week, auditor):
    before = AuditEvent.objects.filter(action="compliance.audit_report_downloaded").count()
    response = auditor.post(PAGE, {"from": "2026-03-02", "to": "2026-03-08", "format": "json"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    body.pop("generated_at")
    expected = selectors.audit_report(start=WEEK[0], end=WEEK[1])
    expected.pop("generated_at")
    assert body == expected
    assert AuditEvent.objects.filter(action="compliance.audit_report_downloaded").count() == before + 1


def test_bad_period_shows_the_error_and_downloads_nothing(auditor):
    response = auditor.get(PAGE, {"from": "2026-03-08", "to": "2026-03-02"})
    assert response.status_code == 200 and response.context["report"] is None
    assert "from: Must be on or before to." in response.content.decode()
    count = AuditEvent.objects.count()
    assert auditor.post(PAGE, {"from": "2026-02-30", "to": "2026-03-02", "format": "csv"}).status_code == 400
    assert auditor.post(PAGE, {"from": "2026-03-01", "to": "2026-03-02", "format": "xlsx"}).status_code == 400
    assert AuditEvent.objects.count() == count


def test_staff_without_the_permission_is_refused(staff_client):
    support = staff_client("support")
    count = AuditEvent.objects.count()
    assert support.get(PAGE).status_code == 403
    assert support.post(PAGE, {"from": "2026-03-02", "to": "2026-03-08", "format": "csv"}).status_code == 403
    assert AuditEvent.objects.count() == count


def test_changelist_links_the_report(week, auditor):
    response = auditor.get("/admin/core/auditevent/")
    assert response.status_code == 200
    assert f'<a href="{PAGE}">Audit report</a>' in response.content.decode()
    change = auditor.get(admin_url(week.events["role_changed"]))
    assert change.status_code == 200 and "staff_user.role_changed" in change.content.decode()
