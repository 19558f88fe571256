"""The request log records every REST request under /api/ and every MCP tool call, with exact fields,
after the answer and outside the request's transaction."""

import datetime as dt
import logging
import time

import pytest
from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Customer
from accounts.services import customer_create
from config.urls import urlpatterns as project_urlpatterns
from core import clock
from core.context import Actor
from monitoring import redaction, requestlog
from monitoring.models import RequestLog
from tests.mcp.conftest import McpClient

MOMENT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _request_log_on(settings):
    settings.REQUEST_LOG_ENABLED = True
    settings.REQUEST_LOG_BACKGROUND = False


@csrf_exempt
def _boom(request):
    """A view whose transaction rolls back under an unexpected error (the 500 of a failed request)."""
    with transaction.atomic():
        customer_create(actor=Actor.system("tests"), email="boom@example.com", name="Boom")
        raise RuntimeError("boom")


@csrf_exempt
def _ok(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("api/v1/test-boom", _boom), path("api/v1/test-ok", _ok), *project_urlpatterns]


def test_a_rest_request_is_logged_with_its_key_route_status_and_bodies(api, make_wallet):
    source, target = make_wallet(balance=10_000), make_wallet()
    with clock.frozen_at(MOMENT):
        response = api.post("/api/v1/transfers", {"from_wallet_id": source.pk, "to_wallet_id": target.pk,
                                                  "amount": "2.50", "currency": "USD"},
                            format="json", HTTP_IDEMPOTENCY_KEY="transfer-1", HTTP_X_REQUEST_ID="req_capture_0001")
    assert response.status_code == 201
    row = RequestLog.objects.get()
    key = api.api_key
    assert (row.id[:5], row.created, row.kind, row.api_key_id, row.api_key_name, row.user_id, row.username) == (
        "rlog_", MOMENT, "rest", key.pk, "test key", str(key.owner.pk), key.owner.get_username())
    assert (row.method, row.route, row.tool, row.path, row.status, row.request_id, row.idempotency_key,
            row.error_code) == ("POST", "POST /api/v1/transfers", "", "/api/v1/transfers", 201, "req_capture_0001",
                                "transfer-1", "")
    assert row.request_body == {"from_wallet_id": source.pk, "to_wallet_id": target.pk, "amount": "2.50",
                                "currency": "USD"}
    assert row.response_body == response.json()
    assert row.query == {}
    assert (row.request_truncated, row.response_truncated) == (False, False)
    assert 0 < row.duration_ms < 60_000


def test_a_refusal_is_logged_with_its_error_code_and_the_query(api):
    response = api.get("/api/v1/wallets/wal_missing", {"expand": "x"})
    assert response.status_code == 400
    row = RequestLog.objects.get()
    assert (row.method, row.route, row.path, row.status, row.error_code, row.query) == (
        "GET", "GET /api/v1/wallets/<str:wallet_id>", "/api/v1/wallets/wal_missing", 400, "validation_error",
        {"expand": "x"})
    assert row.request_body is None
    assert row.response_body == {"error": {"code": "validation_error", "message": "The request has invalid fields.",
                                           "details": {"fields": {"expand": ["Unknown field."]}}}}
    assert api.get("/api/v1/wallets/wal_missing").status_code == 404
    assert RequestLog.objects.order_by("-created", "-id").values_list("status", "error_code")[0] == (404, "not_found")


def test_an_unauthenticated_request_is_logged_without_a_key(client, db):
    response = client.get("/api/v1/wallets")
    assert response.status_code == 401
    row = RequestLog.objects.get()
    assert (row.api_key_id, row.user_id, row.status, row.error_code, row.route) == (
        "", "", 401, "not_authenticated", "GET /api/v1/wallets")


def test_pages_outside_the_api_and_the_schema_are_not_logged(client, db):
    client.get("/healthz")
    client.get("/api/schema/")
    assert RequestLog.objects.count() == 0


def test_nothing_is_logged_when_the_request_log_is_off(api, settings):
    settings.REQUEST_LOG_ENABLED = False
    assert api.get("/api/v1/wallets").status_code == 200
    assert RequestLog.objects.count() == 0


def test_an_mcp_call_is_logged_with_its_tool_key_and_answer(make_key):
    created = make_key("*")
    mcp = McpClient(created.raw_key)
    with clock.frozen_at(MOMENT):
        body = mcp.ok("list_wallets", {"limit": 2})
    row = RequestLog.objects.get()
    assert (row.kind, row.method, row.route, row.tool, row.path, row.status, row.error_code, row.api_key_id,
            row.api_key_name, row.username) == (
        "mcp", "tools/call", "", "list_wallets", "/mcp", 200, "", created.api_key.pk, "test key",
        created.api_key.owner.get_username())
    assert row.request_body == {"limit": 2}
    assert row.response_body == body
    assert row.request_id.startswith("req_")
    assert row.created == MOMENT - dt.timedelta(milliseconds=row.duration_ms)


def test_an_mcp_refusal_is_logged_with_the_status_rest_would_answer(make_key):
    mcp = McpClient(make_key("*").raw_key)
    error = mcp.error("get_wallet_balance", {"wallet_id": "wal_missing"})
    row = RequestLog.objects.get()
    assert (row.tool, row.status, row.error_code) == ("get_wallet_balance", 404, "not_found")
    assert row.response_body == {"error": error}
    mcp.error("list_wallets", {"limit": "many"})
    assert RequestLog.objects.order_by("-created").values_list("status", "error_code")[0] == (
        400, "validation_error")


def test_an_mcp_write_is_logged_with_its_idempotency_key(make_key, make_wallet):
    mcp = McpClient(make_key("*").raw_key)
    source, target = make_wallet(balance=10_000), make_wallet()
    mcp.ok("transfer_funds", {"from_wallet_id": source.pk, "to_wallet_id": target.pk, "amount": "1.00",
                              "currency": "USD", "idempotency_key": "mcp-transfer-1"})
    row = RequestLog.objects.get()
    assert (row.tool, row.status, row.idempotency_key) == ("transfer_funds", 200, "mcp-transfer-1")
    assert row.request_body["idempotency_key"] == redaction.REDACTED  # a key by name; the column has it


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_a_failed_request_is_logged_outside_its_rolled_back_transaction(client, caplog):
    inserts: list[int] = []

    def watch(execute, sql, params, many, context):
        if sql.startswith(("INSERT INTO", "COPY")) and "monitoring_requestlog" in sql:
            inserts.append(len(connection.atomic_blocks))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch), caplog.at_level(logging.ERROR, logger="core.request"):
        response = client.post("/api/v1/test-boom", {"a": 1}, content_type="application/json")
    assert response.status_code == 500
    assert Customer.objects.filter(email="boom@example.com").count() == 0  # the request's transaction rolled back
    row = RequestLog.objects.get()
    assert (row.route, row.status, row.error_code, row.request_body) == (
        "POST /api/v1/test-boom", 500, "internal_error", {"a": 1})
    # One statement (COPY on PostgreSQL, an INSERT on SQLite) in autocommit: no transaction of the request around it.
    assert inserts == [0]


@pytest.mark.django_db(transaction=True)
def test_a_refused_transfer_rolled_back_is_still_logged(api, make_wallet):
    source, target = make_wallet(balance=100), make_wallet()
    response = api.post("/api/v1/transfers", {"from_wallet_id": source.pk, "to_wallet_id": target.pk,
                                              "amount": "5.00", "currency": "USD"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="too-much")
    assert response.status_code == 422
    source.account.refresh_from_db()
    row = RequestLog.objects.get()
    assert (row.status, row.error_code, row.idempotency_key) == (422, "insufficient_funds", "too-much")


@pytest.mark.urls(__name__)
def test_a_failed_log_write_is_logged_and_the_answer_stands(client, db, monkeypatch, caplog):
    def broken(entry):
        raise ValueError("cannot prepare")

    monkeypatch.setattr(requestlog, "_row", broken)
    with caplog.at_level(logging.ERROR, logger="monitoring.requestlog"):
        response = client.get("/api/v1/test-ok")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert RequestLog.objects.count() == 0
    assert [r.getMessage() for r in caplog.records if r.name == "monitoring.requestlog"] == [
        "request log: could not prepare an entry"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_the_background_writer_inserts_queued_requests_in_one_statement(client, settings):
    settings.REQUEST_LOG_BACKGROUND = True
    settings.REQUEST_LOG_FLUSH_SECONDS = 60.0  # the thread waits; the test's flush writes the batch
    inserts: list[str] = []

    def watch(execute, sql, params, many, context):
        if "monitoring_requestlog" in sql:
            inserts.append(sql.split(" ", 1)[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        for _ in range(3):
            assert client.get("/api/v1/test-ok").status_code == 200
        assert inserts == []  # nothing written on the request path
        assert RequestLog.objects.count() == 0
    deadline = time.monotonic() + 5
    written = requestlog.flush()
    while RequestLog.objects.count() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert RequestLog.objects.count() == 3
    assert written in (0, 3)  # 0 only if the thread took the batch first


def test_a_staff_session_request_is_logged_with_the_user_and_no_key(staff_client):
    client = staff_client("operator")
    response = client.get("/api/v1/wallets")
    assert response.status_code == 200
    row = RequestLog.objects.get()
    assert (row.api_key_id, row.api_key_name, row.user_id, row.username, row.status) == (
        "", "", str(client.user.pk), client.user.get_username(), 200)


def test_a_row_the_database_refuses_loses_only_itself_and_is_logged(db, caplog):
    def entry(status):
        return requestlog.Entry(created=MOMENT, kind="rest", method="GET", route="GET /api/v1/wallets",
                                path="/api/v1/wallets", status=status, duration_ms=1.0, request_id=f"req_{status}")

    with caplog.at_level(logging.ERROR, logger="monitoring.requestlog"):
        assert requestlog.write([entry(200), entry(-1), entry(404)]) == 2  # -1: the status column's check refuses
    assert sorted(RequestLog.objects.values_list("status", flat=True)) == [200, 404]
    assert [r.getMessage() for r in caplog.records if r.name == "monitoring.requestlog"] == [
        "request log: could not write 1 of 3 rows"]


def test_a_body_too_large_is_answered_413_and_logged_without_it(api):
    response = api.post("/api/v1/customers", data=b'{"email": "' + b"a" * (1024 * 1024 + 10) + b'"}',
                        content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "request_too_large")
    row = RequestLog.objects.get()
    assert (row.status, row.error_code, row.request_body) == (413, "request_too_large", None)
