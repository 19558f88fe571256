"""A request whose Host header is not in ALLOWED_HOSTS is refused by Django before any view (CommonMiddleware's
`get_host()`): under /api/ in the API's error shape, on /mcp as a JSON-RPC error, elsewhere Django's page; nothing
runs."""

import json

import pytest
from django.forms.models import model_to_dict
from django.test import Client, override_settings

from accounts.models import Customer
from mcp_gateway.models import ToolCall
from monitoring.models import RequestLog

pytestmark = [pytest.mark.django_db]

SPOOFED = "evil.example.com"
DISALLOWED_HOST = {"code": "disallowed_host", "message": "The Host header names a host this server does not serve.",
                   "details": {}}


@pytest.fixture(autouse=True)
def _only_testserver_allowed(settings):
    settings.ALLOWED_HOSTS = ["testserver"]  # the test settings allow any host


def _create_customer(api, host):
    return api.post("/api/v1/customers", {"email": "host@example.com"}, format="json", HTTP_HOST=host,
                    HTTP_X_REQUEST_ID="req_spoofed_host_1")


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/no-such-route", "/api/nothing"])
def test_an_api_get_with_a_disallowed_host_is_a_json_400(api, path):
    response = api.get(path, HTTP_HOST=SPOOFED)
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"error": DISALLOWED_HOST}
    assert response.get("Cache-Control") == ("no-store" if path.startswith("/api/v1/") else None)


def test_an_api_write_with_a_disallowed_host_changes_nothing_and_is_logged_as_refused(api, settings):
    settings.REQUEST_LOG_ENABLED, settings.REQUEST_LOG_BACKGROUND = True, False
    response = _create_customer(api, SPOOFED)
    assert (response.status_code, response.json()) == (400, {"error": DISALLOWED_HOST})
    assert response["X-Request-ID"] == "req_spoofed_host_1"
    assert Customer.objects.count() == 0
    row = RequestLog.objects.get()
    # Refused before authentication: no key is named, and the spoofed host is stored nowhere.
    assert (row.method, row.path, row.status, row.error_code, row.request_id, row.api_key_id) == (
        "POST", "/api/v1/customers", 400, "disallowed_host", "req_spoofed_host_1", "")
    assert SPOOFED not in json.dumps(model_to_dict(row), default=str)
    # The same request to an allowed host goes through.
    assert _create_customer(api, "testserver").status_code == 201


@pytest.mark.parametrize("path", ["/mcp", "/mcp/"])
def test_an_mcp_call_with_a_disallowed_host_is_a_json_rpc_error_and_runs_nothing(make_key, path):
    raw_key = make_key("*").raw_key
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "create_customer", "arguments": {"email": "h@example.com", "idempotency_key": "h-1"}}}
    response = Client().post(path, data=json.dumps(body), content_type="application/json", HTTP_HOST=SPOOFED,
                             headers={"Authorization": f"Bearer {raw_key}",
                                      "Accept": "application/json, text/event-stream"})
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    # No id: the body is not read.
    assert response.json() == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": "The Host header names a host this server does not serve.",
        "data": {"code": "disallowed_host"}}}
    assert (Customer.objects.count(), ToolCall.objects.count()) == (0, 0)


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/"])
def test_pages_keep_djangos_html_400(path):
    response = Client().get(path, HTTP_HOST=SPOOFED)
    assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8")
    assert b"<h1>Bad Request (400)</h1>" in response.content
