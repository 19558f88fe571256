"""Helpers to drive the official MCP tools (Node 22 from `tools/`) and the Python SDK client
against a live server started by the test run."""

import asyncio
import glob
import json
import os
import subprocess
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
NODE = TOOLS / "node_modules" / ".bin" / "node"
CONFORMANCE_LEGACY = TOOLS / "node_modules" / "conformance-legacy" / "dist" / "index.js"
CONFORMANCE_NEXT = TOOLS / "node_modules" / "conformance-next" / "dist" / "index.js"
INSPECTOR = TOOLS / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / \
    "index.js"


def require_node_tools() -> None:
    """`make test` installs them (`npm ci` in tools/); elsewhere they may be missing, which
    is a skip, unless MCP_REQUIRE_NODE_TOOLS=1 (set by `make test`, so CI cannot skip)."""
    missing = [p for p in (NODE, CONFORMANCE_LEGACY, CONFORMANCE_NEXT, INSPECTOR) if not p.exists()]
    if not missing:
        return
    message = f"MCP Node tools not installed (run `make tools`): missing {missing[0]}"
    if os.environ.get("MCP_REQUIRE_NODE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def run_node(script: Path, *args: str, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "MCP_INSPECTOR_SECRET_STORE": "memory", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    return subprocess.run([str(NODE), str(script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def checks_of(out_dir: Path, scenario: str) -> list[dict]:
    found = glob.glob(str(out_dir / f"server-{scenario}-*" / "checks.json"))
    assert len(found) == 1, found
    return json.loads(Path(found[0]).read_text())


def sdk_session(url: str, raw_key: str, mode: str, script):
    """Run `script(client)` inside a Python SDK (mcp 2.x) client session; returns its result."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def main():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {raw_key}"},
                                      timeout=httpx2.Timeout(30.0, read=60.0)) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                return await script(client)

    return asyncio.run(main())
