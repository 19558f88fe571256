"""GET /api/v1/audit-events (get_audit_trail): the trail newest first, its filters, cursor pages,
the canonical rendering, and its refusals."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent

from .report_data import plant_week

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events"


@pytest.fixture
def week(make_staff, customer):
    return plant_week(make_staff, customer)


@pytest.fixture
def auditor(client_for):
    return client_for("compliance:read", role="auditor")


def _ids(response):
    assert response.status_code == 200, response.content
    return [event["id"] for event in response.json()["data"]]


WEEK_NEWEST_FIRST = ["report_downloaded", "adjust_weekend", "review_rejected_legacy", "approval_approved",
                     "refund_large_jpy", "refund_small_usd", "refund_large_usd", "role_changed", "otp_failed",
                     "password_failed", "adjust_in_hours", "wallet_created"]


def test_one_event_rendered_with_its_pci_fields(week, auditor):
    event = week.events["role_changed"]
    response = auditor.get(URL, {"object_id": str(week.alice.pk), "action": "staff_user.role_changed"})
    assert response.json() == {"has_more": False, "next_cursor": None, "data": [{
        "id": event.pk, "seq": None, "occurred_at": "2026-03-04T22:30:00Z", "action": "staff_user.role_changed",
        "outcome": "success", "actor": {"type": "user", "id": str(week.bob.pk), "label": "bob"},
        "object": {"type": "accounts.user", "id": str(week.alice.pk)}, "request_id": "", "ip_address": None,
        "user_agent": "", "details": {"role": "finance"}, "hash": None}]}


def test_filters(week, auditor):
    week_range = {"created_gte": "2026-03-02T00:00:00Z", "created_lte": "2026-03-08T23:59:59Z", "limit": 100}
    assert _ids(auditor.get(URL, week_range)) == week.ids(*WEEK_NEWEST_FIRST)
    assert _ids(auditor.get(URL, {**week_range, "action": "wallet.adjusted"})) == week.ids(
        "adjust_weekend", "adjust_in_hours")
    assert _ids(auditor.get(URL, {**week_range, "actor_id": str(week.alice.pk)})) == week.ids(
        "adjust_weekend", "adjust_in_hours")
    assert _ids(auditor.get(URL, {"object_id": week.wallet_id})) == week.ids(
        "adjust_weekend", "adjust_in_hours", "wallet_created")
    # bounds are inclusive; a time with an offset is the same instant in UTC
    assert _ids(auditor.get(URL, {"created_gte": "2026-03-08T23:59:59Z", "created_lte": "2026-03-09T00:00:00Z"})) == (
        week.ids("after", "report_downloaded"))
    assert _ids(auditor.get(URL, {"created_gte": "2026-03-09T01:00:00+01:00",
                                  "created_lte": "2026-03-09T01:00:00+01:00"})) == week.ids("after")
    combined = {"action": "refund.created", "actor_id": "tests", "created_lte": "2026-03-05T12:01:00Z"}
    assert _ids(auditor.get(URL, combined)) == week.ids("refund_small_usd", "refund_large_usd")
    assert _ids(auditor.get(URL, {"action": "no.such_action"})) == []


def test_a_legacy_name_is_shown_and_found_under_its_current_name(week, auditor):
    response = auditor.get(URL, {"action": "payment.review_rejected"})
    assert _ids(response) == week.ids("review_rejected_legacy")
    assert response.json()["data"][0]["action"] == "payment.review_rejected"
    assert AuditEvent.objects.get(pk=week.events["review_rejected_legacy"].pk).action == "payment.review_rejectd"
    assert _ids(auditor.get(URL, {"action": "payment.review_rejectd"})) == week.ids("review_rejected_legacy")


def test_cursor_pages_walk_the_trail_newest_first(week, auditor):
    query = {"created_gte": "2026-03-02T00:00:00Z", "created_lte": "2026-03-08T23:59:59Z", "limit": 5}
    seen, pages = [], []
    cursor = None
    while True:
        response = auditor.get(URL, {**query, **({"cursor": cursor} if cursor else {})})
        body = response.json()
        seen += _ids(response)
        pages.append(len(body["data"]))
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert pages == [5, 5, 2]
    assert seen == week.ids(*WEEK_NEWEST_FIRST)


def test_filters_use_an_index_and_pages_take_one_query(week, auditor):
    from compliance import selectors

    for filters in ({"action": "wallet.adjusted"}, {"actor_id": "tests"}, {"object_id": week.wallet_id}):
        with CaptureQueriesContext(connection) as queries:
            page = selectors.audit_event_list(limit=2, **filters)
        assert len(queries.captured_queries) == 1 and len(page.items) == 2
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
            for column, value, index in (("actor_id", "tests", "audit_actor_time_idx"),
                                         ("action", "wallet.adjusted", "audit_action_time_idx"),
                                         ("object_id", week.wallet_id, "object_id")):
                cursor.execute(f"EXPLAIN SELECT id FROM core_auditevent WHERE {column} = %s "
                               "ORDER BY occurred_at DESC, id DESC LIMIT 21", [value])
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert index in plan, (column, plan)
            cursor.execute("RESET enable_seqscan")


@pytest.mark.parametrize(("query", "field"), [
    ({"created_gte": "yesterday"}, "created_gte"),
    ({"created_lte": "1999-01-01T00:00:00Z"}, "created_lte"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"limit": "101"}, "limit"),
    ({"action": "x" * 81}, "action"),
    ({"actor": "bob"}, "actor"),
])
def test_invalid_filters(auditor, query, field):
    response = auditor.get(URL, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]["fields"]) == [field]


@pytest.mark.parametrize(("scopes", "role", "code"), [
    ("payments:read", "auditor", "insufficient_scope"),
    ("events:read", "admin", "insufficient_scope"),
    ("compliance:read", "support", "permission_denied"),
])
def test_refusals(client_for, scopes, role, code):
    client = client_for(scopes, role=role)
    count = AuditEvent.objects.count()
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == code
    assert AuditEvent.objects.count() == count


def test_compliance_write_reads_too(client_for):
    response = client_for("compliance:write", role="finance").get(URL, {"actor_id": "nobody"})
    assert response.status_code == 200 and response.json() == {"data": [], "has_more": False, "next_cursor": None}
