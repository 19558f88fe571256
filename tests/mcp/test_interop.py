"""Independent clients against a live server: the official conformance suites (both wires),
the Python SDK client in auto, legacy and modern modes, and the MCP Inspector CLI."""

import json

import pytest

from accounts.models import Customer
from approvals.models import ApprovalRequest
from mcp_gateway.models import ToolCall

from . import points
from .interop import (
    CONFORMANCE_LEGACY,
    CONFORMANCE_NEXT,
    INSPECTOR,
    TOOLS,
    checks_of,
    require_node_tools,
    run_node,
    sdk_session,
)

pytestmark = pytest.mark.django_db(transaction=True)

LEGACY_SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection",
                    "server-sse-multiple-streams", "resources-list", "prompts-list", "logging-set-level"]
MODERN_SCENARIOS = ["tools-list", "caching", "http-header-validation", "dns-rebinding-protection", "resources-list",
                    "prompts-list", "sep-2164-resource-not-found"]
# server-stateless checks that need fixture tools of the reference server (test_*).
STATELESS_FIXTURE_CHECKS = {"sep-2575-server-rejects-undeclared-capability", "sep-2575-missing-capability-http-400",
                            "sep-2575-http-server-no-independent-requests-on-stream",
                            "sep-2575-server-no-log-without-loglevel"}


@pytest.fixture
def open_server(live_server, settings, roles):
    """Conformance clients cannot send Authorization: the test-only switch, loopback only."""
    require_node_tools()
    settings.MCP_AUTH_DISABLED = True
    return f"{live_server.url}/mcp/"


def _assert_ok(proc, what):
    assert proc.returncode == 0, f"{what}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"


def test_conformance_0_1_16_meaningful_scenarios_pass(open_server, tmp_path):
    for scenario in LEGACY_SCENARIOS:
        proc = run_node(CONFORMANCE_LEGACY, "server", "--url", open_server, "--scenario", scenario,
                        "-o", str(tmp_path), cwd=tmp_path)
        _assert_ok(proc, scenario)
        checks = checks_of(tmp_path, scenario)
        assert all(c["status"] in ("SUCCESS", "WARNING", "INFO") for c in checks), checks


def test_conformance_0_1_16_full_suite_matches_the_baseline(open_server, tmp_path):
    proc = run_node(CONFORMANCE_LEGACY, "server", "--url", open_server, "--expected-failures",
                    str(TOOLS / "conformance-baseline-0.1.16.yml"), cwd=tmp_path)
    _assert_ok(proc, "0.1.16 full suite")


def test_conformance_alpha_modern_wire_meaningful_scenarios_pass(open_server, tmp_path):
    for scenario in MODERN_SCENARIOS:
        proc = run_node(CONFORMANCE_NEXT, "server", "--url", open_server, "--scenario", scenario,
                        "-o", str(tmp_path), cwd=tmp_path)
        _assert_ok(proc, scenario)
    proc = run_node(CONFORMANCE_NEXT, "server", "--url", open_server, "--scenario", "server-stateless",
                    "-o", str(tmp_path), cwd=tmp_path)
    checks = checks_of(tmp_path, "server-stateless")
    failed = {c["id"] for c in checks if c["status"] == "FAILURE"}
    assert failed == STATELESS_FIXTURE_CHECKS, proc.stdout[-4000:]
    assert sum(c["status"] == "SUCCESS" for c in checks) >= 21


def test_conformance_alpha_legacy_wire_meaningful_scenarios_pass(open_server, tmp_path):
    for scenario in LEGACY_SCENARIOS:
        proc = run_node(CONFORMANCE_NEXT, "server", "--url", open_server, "--scenario", scenario,
                        "--spec-version", "2025-11-25", cwd=tmp_path)
        _assert_ok(proc, scenario)


def test_conformance_alpha_2026_requirements_match_the_baseline(open_server, tmp_path):
    proc = run_node(CONFORMANCE_NEXT, "server", "--url", open_server, "--requirements", "2026-07-28",
                    "--expected-failures", str(TOOLS / "conformance-baseline-2026-07-28.yml"), cwd=tmp_path)
    _assert_ok(proc, "2026-07-28 requirements")


# --- real clients with a real API key --------------------------------------------------------


@pytest.fixture
def keyed_server(live_server, make_key, register_op):
    for op in (points.READER, points.REFUND):
        register_op(op)
    created = make_key("*")
    return f"{live_server.url}/mcp/", created


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25"),
                                               ("2026-07-28", "2026-07-28")])
def test_python_sdk_client(keyed_server, mode, version, make_staff):
    url, created = keyed_server
    account = Customer.objects.create(email="sdk-points@example.com", metadata={"currency": "USD", "balance": 100000},
                                      created=_now(), updated=_now())

    async def script(client):
        listed = await client.list_tools()
        created_customer = await client.call_tool("create_customer", {"email": f"{mode}@example.com",
                                                                      "idempotency_key": f"c-{mode}"})
        fetched = await client.call_tool("get_customer", {"customer_id": created_customer.structured_content["id"]})
        missing = await client.call_tool("get_customer", {"customer_id": "cus_missing"})
        refund = await client.call_tool("zz_refund_points", {"points_account_id": account.id, "amount": "12.34",
                                                             "currency": "USD", "idempotency_key": f"r-{mode}"})
        dry = await client.call_tool("zz_refund_points", {"points_account_id": account.id, "amount": "1",
                                                          "idempotency_key": f"d-{mode}", "dry_run": True})
        return client.protocol_version, listed, created_customer, fetched, missing, refund, dry

    protocol, listed, created_customer, fetched, missing, refund, dry = sdk_session(url, created.raw_key, mode, script)
    assert protocol == version
    names = [t.name for t in listed.tools]
    assert {"create_customer", "get_customer", "get_approval_status", "zz_refund_points"} <= set(names)
    refund_tool = next(t for t in listed.tools if t.name == "zz_refund_points")
    assert refund_tool.annotations.destructive_hint is True and refund_tool.annotations.read_only_hint is False
    assert created_customer.is_error is False and created_customer.structured_content["email"] == f"{mode}@example.com"
    assert fetched.structured_content == created_customer.structured_content
    assert missing.is_error is True and missing.structured_content["error"]["code"] == "not_found"
    assert refund.structured_content == {"id": account.id, "amount": "12.34", "currency": "USD", "balance": "987.66"}
    assert dry.structured_content["would_succeed"] is True and dry.structured_content["mode"] == "simulated"
    account.refresh_from_db()
    assert account.metadata["balance"] == 98766
    assert ToolCall.objects.filter(api_key=created.api_key).count() == 5
    assert not ApprovalRequest.objects.exists()


def _now():
    from core import clock

    return clock.now()


def test_inspector_cli_lists_the_tools(keyed_server, tmp_path):
    require_node_tools()
    url, created = keyed_server
    proc = run_node(INSPECTOR, "--cli", url, "--transport", "http", "--header",
                    f"Authorization: Bearer {created.raw_key}", "--method", "tools/list", "--format", "json",
                    cwd=tmp_path)
    _assert_ok(proc, "inspector tools/list")
    listed = json.loads(proc.stdout[proc.stdout.index("{"):proc.stdout.rindex("}") + 1])
    names = [t["name"] for t in listed["result"]["tools"]]
    assert "create_customer" in names and "zz_refund_points" in names
    proc = run_node(INSPECTOR, "--cli", url, "--transport", "http", "--method", "tools/list", "--format", "json",
                    cwd=tmp_path)
    assert proc.returncode == 3, (proc.returncode, proc.stdout[-500:], proc.stderr[-500:])  # auth required
    # The modern (2026-07-28) era is chosen per server in a config file.
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"pay": {
        "type": "http", "url": url, "protocolEra": "modern",
        "headers": {"Authorization": f"Bearer {created.raw_key}"}}}}))
    proc = run_node(INSPECTOR, "--cli", "--config", str(config), "--server", "pay", "--method", "tools/list",
                    "--format", "json", cwd=tmp_path)
    _assert_ok(proc, "inspector tools/list, modern era")
    modern = json.loads(proc.stdout[proc.stdout.index("{"):proc.stdout.rindex("}") + 1])
    assert [t["name"] for t in modern["result"]["tools"]] == names
    proc = run_node(INSPECTOR, "--cli", "--config", str(config), "--server", "pay", "--method", "tools/call",
                    "--tool-name", "get_customer", "--tool-arg", "customer_id=cus_missing", "--format", "json",
                    cwd=tmp_path)
    assert proc.returncode == 5, (proc.stdout[-500:], proc.stderr[-500:])  # the tool answered isError
    call = ToolCall.objects.get(tool="get_customer")
    assert (call.protocol_version, call.error_code) == ("2026-07-28", "not_found")
