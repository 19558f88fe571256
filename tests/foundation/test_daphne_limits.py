"""Daphne (the Procfile's web server, and the WebSocket server beside granian) answers a request whose head is
over Twisted's 16 KiB: 431 for the headers, 414 for the request line, with a stable code, instead of dropping
the connection without a word (a single line over the limit) or a bare 400 (the total over it)."""

import json
import socket

import pytest

from config.daphne import HEAD_LIMIT
from tests.foundation.test_daphne_logging import _procfile_web_command
from tests.foundation.test_serve_logging import _free_port, _running, _server_env, _wait_for_lines


def _answer(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head + b"\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    assert data, "no answer: the connection was closed without one"
    head_text, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head_text.decode().split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def _get(path: str, *headers: bytes) -> bytes:
    return b"\r\n".join([f"GET {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", *headers, b"Connection: close", b""])


def _refusal(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "details": {"limit_bytes": 16384}}}


HEADERS_TOO_LARGE = _refusal("request_headers_too_large", "The request's headers exceed 16384 bytes.")


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("daphne")
    port = _free_port()
    log = tmp_path / "daphne.log"
    with _running(_procfile_web_command(port), _server_env(tmp_path), log, port):
        yield port, log


def test_a_64_kb_header_is_431_with_a_stable_code(daphne):
    port, log = daphne
    status, headers, body = _answer(port, _get("/api/v1/payments", b"X-Big: " + b"a" * 65536))
    assert (status, headers["content-type"], headers["connection"]) == (431, "application/json", "close")
    assert json.loads(body) == HEADERS_TOO_LARGE
    _wait_for_lines(log, "request_headers_too_large (431)", 1)
    assert "refused a request from 127.0.0.1: request_headers_too_large (431)" in log.read_text()


def test_headers_over_the_limit_together_are_431_not_a_bare_400(daphne):
    port, _ = daphne
    status, _, body = _answer(port, _get("/api/v1/payments", b"X-A: " + b"a" * 9000, b"X-B: " + b"b" * 9000))
    assert (status, json.loads(body)) == (431, HEADERS_TOO_LARGE)


def test_a_request_line_over_the_limit_is_414(daphne):
    port, _ = daphne
    status, _, body = _answer(port, _get("/api/v1/payments?q=" + "a" * 20000))
    assert (status, json.loads(body)) == (414, _refusal("request_line_too_long",
                                                        "The request line exceeds 16384 bytes."))


def test_a_head_just_under_the_limit_reaches_the_application(daphne):
    port, _ = daphne
    head = _get("/api/v1/payments", b"X-Big: " + b"a" * 16000)
    assert len(head) < HEAD_LIMIT
    status, headers, body = _answer(port, head)
    assert (status, json.loads(body)["error"]["code"]) == (401, "not_authenticated")
    assert headers["x-request-id"].startswith("req_")


def _rpc_refusal(code: str, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": None,
            "error": {"code": -32600, "message": message, "data": {"code": code, "limit_bytes": 16384}}}


def test_at_mcp_the_refusals_are_json_rpc_errors_as_config_errors_answers_there(daphne):
    """Built by config.errors.refusal, as Django's own refusals before a view (a disallowed host) are: /mcp gets a
    JSON-RPC error with no id, every other path the API's envelope."""
    port, _ = daphne
    post = b"POST /mcp/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    status, headers, body = _answer(port, post + b"X-Big: " + b"a" * 65536 + b"\r\nConnection: close\r\n")
    assert (status, headers["content-type"], headers["connection"]) == (431, "application/json", "close")
    assert json.loads(body) == _rpc_refusal("request_headers_too_large", "The request's headers exceed 16384 bytes.")
    status, _, body = _answer(port, _get("/mcp?q=" + "a" * 20000))
    assert (status, json.loads(body)) == (414, _rpc_refusal("request_line_too_long",
                                                            "The request line exceeds 16384 bytes."))
    status, _, body = _answer(port, _get("/admin/", b"X-A: " + b"a" * 9000, b"X-B: " + b"b" * 9000))
    assert (status, json.loads(body)) == (431, HEADERS_TOO_LARGE)
