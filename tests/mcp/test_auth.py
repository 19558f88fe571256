"""Bearer API keys, protected-resource metadata, scope filtering, rate limits, auth switch."""

import datetime as dt

import pytest

from accounts import services as account_services
from core import clock
from core.operations import all_operations
from mcp_gateway import registry
from mcp_gateway.models import ToolCall

from .conftest import McpClient

pytestmark = pytest.mark.django_db

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
PRM = "http://testserver/.well-known/oauth-protected-resource/mcp/"


def _challenge_parts(header: str) -> dict[str, str]:
    assert header.startswith("Bearer ")
    parts = {}
    for item in header[len("Bearer "):].split(", "):
        key, _, value = item.partition("=")
        parts[key] = value.strip('"')
    return parts


def test_no_key_is_401_with_www_authenticate_pointing_to_metadata():
    response = McpClient().post(PING)
    assert response.status_code == 401
    parts = _challenge_parts(response["WWW-Authenticate"])
    assert parts["resource_metadata"] == PRM
    assert "payments:read" in parts["scope"].split(" ") and "wallets:write" in parts["scope"].split(" ")
    assert "error" not in parts
    assert response.json() == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32001, "message": "Send Authorization: Bearer <API key>.", "data": {"code": "not_authenticated"}}}


@pytest.mark.parametrize(("header", "code", "error"), [
    ("Bearer sk_nope", "invalid_api_key", "invalid_token"),
    ("Bearer sk_AAAAAAAAAAAA_" + "x" * 43, "invalid_api_key", "invalid_token"),
    ("Basic dXNlcjpwYXNz", "invalid_api_key", "invalid_request"),
    ("Bearer ", "invalid_api_key", "invalid_request"),
])
def test_bad_keys_are_401_invalid_token(header, code, error):
    client = McpClient()
    response = client.http.post("/mcp/", data=PING, content_type="application/json",
                                headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["data"] == {"code": code}
    assert _challenge_parts(response["WWW-Authenticate"])["error"] == error


def test_revoked_and_expired_keys_are_401(make_key, system_actor):
    revoked = make_key("*")
    account_services.api_key_revoke(actor=system_actor, api_key_id=revoked.api_key.pk)
    response = McpClient(revoked.raw_key).post(PING)
    assert response.status_code == 401 and response.json()["error"]["data"] == {"code": "api_key_revoked"}
    expired = make_key("*")
    type(expired.api_key).objects.filter(pk=expired.api_key.pk).update(
        expires_at=clock.now() - dt.timedelta(seconds=1))
    response = McpClient(expired.raw_key).post(PING)
    assert response.status_code == 401 and response.json()["error"]["data"] == {"code": "api_key_expired"}


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource",
                                  "/.well-known/oauth-protected-resource/mcp",
                                  "/.well-known/oauth-protected-resource/mcp/"])
def test_protected_resource_metadata(client, path):
    response = client.get(path)
    assert response.status_code == 200
    doc = response.json()
    assert doc["resource"] == "http://testserver/mcp/"
    assert doc["authorization_servers"] == ["http://testserver"]
    assert doc["bearer_methods_supported"] == ["header"]
    assert "payments:write" in doc["scopes_supported"]


def test_auth_switched_off_serves_loopback_without_a_key(settings):
    settings.MCP_AUTH_DISABLED = True
    client = McpClient()
    response = client.post(PING)
    assert response.status_code == 200 and response.json()["result"] == {}
    names = [t["name"] for t in client.rpc("tools/list")["result"]["tools"]]
    assert "create_customer" in names
    # Tools still need a key: the switch only opens the protocol for conformance clients.
    error = client.error("get_customer", {"customer_id": "cus_x"})
    assert error["code"] == "not_authenticated"


def test_auth_switch_does_not_open_non_loopback_clients(settings):
    settings.MCP_AUTH_DISABLED = True
    client = McpClient()
    response = client.http.post("/mcp/", data=PING, content_type="application/json", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 401


def test_production_settings_refuse_the_switch():
    import subprocess
    import sys

    code = "import os; os.environ['MCP_AUTH_DISABLED']='1'; os.environ['SECRET_KEY']='x'*60; " \
           "import config.settings.production"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "MCP_AUTH_DISABLED is for conformance runs only" in proc.stderr


def _scopes_of(client):
    return {name: registry.get_tool(name).operation.scope for name in client.tool_names()}


def test_tools_list_shows_only_what_the_scopes_allow(mcp_for):
    read_only = _scopes_of(mcp_for("payments:read"))
    assert {"get_approval_status", "get_customer", "list_customers"} <= set(read_only)
    assert set(read_only.values()) <= {"payments:read", "any"}
    writer = _scopes_of(mcp_for("payments:write"))
    assert {"create_customer", "update_customer", "get_customer"} <= set(writer)
    assert set(writer.values()) <= {"payments:read", "payments:write", "any"}
    other_area = _scopes_of(mcp_for("wallets:read"))
    assert "get_approval_status" in other_area and "get_customer" not in other_area
    assert set(other_area.values()) <= {"wallets:read", "any"}
    everything = mcp_for("*").tool_names()
    assert everything == sorted(op.name for op in all_operations(door="mcp"))


def test_tools_list_also_respects_the_owners_role(mcp_for):
    support = mcp_for("*", role="support")  # may view and change customers, not create them
    names = support.tool_names()
    assert {"get_approval_status", "get_customer", "list_customers", "update_customer"} <= set(names)
    assert "create_customer" not in names


def test_call_outside_the_scopes_is_insufficient_scope_and_changes_nothing(mcp_for):
    from accounts.models import Customer

    reader = mcp_for("payments:read")
    error = reader.error("create_customer", {"email": "x@example.com", "idempotency_key": "k"})
    assert error == {"code": "insufficient_scope", "message": "The API key lacks the scope this operation needs.",
                     "details": {"required_scope": "payments:write"}}
    assert Customer.objects.count() == 0
    log = ToolCall.objects.get()
    assert (log.tool, log.outcome, log.error_code) == ("create_customer", "error", "insufficient_scope")


def test_call_beyond_the_owners_role_is_permission_denied(mcp_for):
    support = mcp_for("*", role="support")
    error = support.error("create_customer", {"email": "x@example.com", "idempotency_key": "k"})
    assert error["code"] == "permission_denied"


def test_rate_limit_per_key_is_429_with_retry_after(mcp_for):
    limited = mcp_for("*", rate_limit="3/min")
    other = mcp_for("*")
    for _ in range(3):
        assert limited.post(PING).status_code == 200
    response = limited.post(PING)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["error"]["code"] == -32003
    assert response.json()["error"]["data"]["code"] == "rate_limited"
    assert other.post(PING).status_code == 200  # another key has its own budget


def test_rate_limit_budget_is_shared_with_rest(make_key):
    from rest_framework.test import APIClient

    created = make_key("*", rate_limit="2/min")
    rest = APIClient()
    rest.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
    assert rest.get("/api/v1/customers").status_code == 200
    assert rest.get("/api/v1/customers").status_code == 200
    assert McpClient(created.raw_key).post(PING).status_code == 429
