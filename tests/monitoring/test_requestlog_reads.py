"""list_request_logs / get_request_log over REST and MCP, their filters and refusals, and the admin pages."""

import datetime as dt

import pytest

from core import clock
from monitoring import requestlog
from monitoring.models import RequestLog
from tests.adminurls import admin_url
from tests.mcp.conftest import McpClient

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _entry(minutes: int, *, status: int = 200, route: str = "", tool: str = "", key: str = "", **extra):
    kind = "mcp" if tool else "rest"
    return requestlog.Entry(created=T0 + dt.timedelta(minutes=minutes), kind=kind,
                            method="tools/call" if tool else route.split(" ")[0], route=route, tool=tool,
                            path="/mcp" if tool else route.split(" ")[1], status=status, duration_ms=12.5,
                            request_id=f"req_seeded_{minutes:04d}", api_key_id=key,
                            api_key_name="key " + key if key else "", **extra)


@pytest.fixture
def seeded(db):
    """Six entries: three REST (two keys), two MCP, one unauthenticated; the log's own reads are not logged
    (REQUEST_LOG_ENABLED is off in tests unless a test turns it on)."""
    entries = [
        _entry(0, route="POST /api/v1/transfers", key="key_a", status=201, idempotency_key="t-1",
               request_value={"amount": "1.00"}, response_value={"id": "txn_1"}),
        _entry(1, route="POST /api/v1/transfers", key="key_b", status=422, error_code="insufficient_funds"),
        _entry(2, route="GET /api/v1/wallets", key="key_a", status=200),
        _entry(3, tool="list_wallets", key="key_a", status=200),
        _entry(4, tool="get_wallet_balance", key="key_b", status=404, error_code="not_found"),
        _entry(5, route="GET /api/v1/wallets", status=401, error_code="not_authenticated"),
    ]
    assert requestlog.write(entries) == 6
    return {row.request_id: row.id for row in RequestLog.objects.all()}


def _ids(response):
    assert response.status_code == 200, response.content
    return [item["request_id"][-4:] for item in response.json()["data"]]


@pytest.mark.parametrize(("query", "expected"), [
    ({}, ["0005", "0004", "0003", "0002", "0001", "0000"]),
    ({"api_key_id": "key_a"}, ["0003", "0002", "0000"]),
    ({"status": "201"}, ["0000"]),
    ({"status": "4xx"}, ["0005", "0004", "0001"]),
    ({"status": "2xx"}, ["0003", "0002", "0000"]),
    ({"route": "POST /api/v1/transfers"}, ["0001", "0000"]),
    ({"tool": "list_wallets"}, ["0003"]),
    ({"kind": "mcp"}, ["0004", "0003"]),
    ({"method": "GET"}, ["0005", "0002"]),
    ({"error_code": "not_found"}, ["0004"]),
    ({"request_id": "req_seeded_0002"}, ["0002"]),
    ({"created_gte": "2026-11-20T10:01:00Z", "created_lte": "2026-11-20T10:03:00Z"}, ["0003", "0002", "0001"]),
    ({"api_key_id": "key_b", "status": "4xx", "kind": "rest"}, ["0001"]),
    ({"api_key_id": "key_zzz"}, []),
    # Filters combine: a REST route and an MCP tool together match nothing (no error).
    ({"route": "POST /api/v1/transfers", "tool": "list_wallets"}, []),
])
def test_filters(api, seeded, query, expected):
    assert _ids(api.get("/api/v1/request-logs", query)) == expected


def test_the_list_pages_with_a_cursor_and_shows_no_bodies(api, seeded):
    first = api.get("/api/v1/request-logs", {"limit": 4}).json()
    assert (len(first["data"]), first["has_more"]) == (4, True)
    second = api.get("/api/v1/request-logs", {"limit": 4, "cursor": first["next_cursor"]}).json()
    assert [i["request_id"][-4:] for i in second["data"]] == ["0001", "0000"]
    assert second["has_more"] is False
    assert second["data"][1] == {
        "id": seeded["req_seeded_0000"], "created": "2026-11-20T10:00:00Z", "kind": "rest",
        "api_key": {"id": "key_a", "name": "key key_a"}, "user": None, "method": "POST",
        "route": "POST /api/v1/transfers", "tool": None, "path": "/api/v1/transfers", "status": 201,
        "duration_ms": 12.5, "request_id": "req_seeded_0000", "idempotency_key": "t-1", "error_code": None}


def test_get_request_log_shows_the_redacted_bodies(api, seeded):
    response = api.get(f"/api/v1/request-logs/{seeded['req_seeded_0000']}")
    assert response.status_code == 200
    body = response.json()
    assert (body["request_body"], body["response_body"], body["query"], body["request_truncated"],
            body["response_truncated"]) == ({"amount": "1.00"}, {"id": "txn_1"}, {}, False, False)
    assert body["id"] == seeded["req_seeded_0000"]


@pytest.mark.parametrize(("query", "field"), [
    ({"status": "9xx"}, "status"),
    ({"status": "20"}, "status"),
    ({"status": "abc"}, "status"),
    ({"api_key_id": "cus_123"}, "api_key_id"),
    ({"kind": "soap"}, "kind"),
    ({"created_gte": "yesterday"}, "created_gte"),
    ({"created_gte": "2026-11-21T00:00:00Z", "created_lte": "2026-11-20T00:00:00Z"}, "created_lte"),
    ({"cursor": "nonsense"}, "cursor"),
    ({"limit": "0"}, "limit"),
    ({"unknown": "1"}, "unknown"),
])
def test_bad_filters_are_refused_with_validation_error(api, seeded, query, field):
    response = api.get("/api/v1/request-logs", query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["details"]["fields"])) == ("validation_error", [field])


def test_get_unknown_or_foreign_id_is_not_found(api, seeded):
    for bad in ("rlog_missing", "req_seeded_0000", "key_a"):
        response = api.get(f"/api/v1/request-logs/{bad}")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_the_log_needs_the_monitoring_read_scope(client_for, seeded):
    response = client_for(["wallets:read"]).get("/api/v1/request-logs")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")
    assert client_for(["monitoring:read"]).get("/api/v1/request-logs").status_code == 200


def test_the_mcp_tools_list_and_get(make_key, seeded):
    mcp = McpClient(make_key("*").raw_key)
    listed = mcp.ok("list_request_logs", {"tool": "get_wallet_balance"})
    assert [(i["tool"], i["status"], i["error_code"]) for i in listed["data"]] == [
        ("get_wallet_balance", 404, "not_found")]
    one = mcp.ok("get_request_log", {"request_log_id": listed["data"][0]["id"]})
    assert (one["kind"], one["method"], one["route"]) == ("mcp", "tools/call", None)
    assert mcp.error("list_request_logs", {"status": "6xx"})["code"] == "validation_error"


def test_the_admin_list_filters_and_the_detail_page(staff_client, seeded):
    client = staff_client("admin")
    url = "/admin/monitoring/requestlog/"
    with clock.frozen_at(T0 + dt.timedelta(days=1)):  # the filters offer what the retained log holds
        page = client.get(url)
        assert 'href="?api_key_id=key_b"' in page.content.decode()
    assert page.status_code == 200
    assert page.content.decode().count('class="field-endpoint"') == 6
    for query, count in (({"status_class": "4"}, 3), ({"api_key_id": "key_b"}, 2), ({"tool": "list_wallets"}, 1),
                         ({"route": "GET /api/v1/wallets"}, 2), ({"kind__exact": "mcp"}, 2),
                         ({"created__day": "20", "created__month": "11", "created__year": "2026"}, 6)):
        response = client.get(url, query)
        assert response.status_code == 200
        assert response.content.decode().count('class="field-endpoint"') == count, query
    detail = client.get(admin_url(RequestLog.objects.get(request_id="req_seeded_0000")))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "&quot;amount&quot;: &quot;1.00&quot;" in html and 'class="bo-json"' in html


def test_operators_and_auditors_may_read_the_log_and_support_may_not(staff_client, seeded):
    assert staff_client("auditor").get("/admin/monitoring/requestlog/").status_code == 200
    assert staff_client("support").get("/admin/monitoring/requestlog/").status_code == 403


def test_the_retention_cutoff_follows_the_setting(settings):
    settings.REQUEST_LOG_RETENTION_DAYS = 7
    with clock.frozen_at(T0):
        assert requestlog.retention_cutoff() == T0 - dt.timedelta(days=7)
