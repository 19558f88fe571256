# The MCP client fixtures: approvals are mostly proven through the doors that API keys use.
from tests.mcp.conftest import mcp, mcp_for, register_op  # noqa: F401
