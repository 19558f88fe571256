"""The ASGI server of `make run` (the Procfile's web line, also the Dockerfile's and compose's) writes its
access log through our logging: no card number in any line."""

import base64
import json
import os
import re
import shlex
import socket
import sys
from pathlib import Path

import yaml

from tests.foundation.test_log_masking import PAN, assert_no_card_number
from tests.foundation.test_serve_logging import (
    _free_port,
    _request_id_answered,
    _running,
    _server_env,
    _status,
    _wait_for_lines,
    access_lines_by_target,
)

ROOT = Path(__file__).resolve().parents[2]


def _procfile_web_command(port: int) -> list[str]:
    line = next(line for line in ROOT.joinpath("Procfile").read_text().splitlines() if line.startswith("web:"))
    line = line.split(":", 1)[1].strip().removeprefix("exec ")
    line = line.replace(".venv/bin/python", sys.executable).replace("${PORT:-8000}", str(port))
    return shlex.split(line)


def test_every_daphne_start_goes_through_the_logging_wrapper_and_every_wsgi_server_through_config_serve():
    assert _procfile_web_command(8000)[1:3] == ["-m", "config.daphne"]
    services = yaml.safe_load(ROOT.joinpath("docker-compose.yml").read_text())["services"]
    assert services["ws"]["command"][:3] == ["python", "-m", "config.daphne"]
    commands = [" ".join(svc["command"]) for svc in services.values() if "command" in svc]
    dockerfile = ROOT.joinpath("Dockerfile").read_text()
    # Daphne only through config.daphne, granian only through config.serve (their access logs masked); no
    # other WSGI server.
    for text in [*commands, dockerfile]:
        assert "daphne " not in text.replace("config.daphne ", ""), text
    instructions = [line for line in dockerfile.splitlines() if line.startswith(("RUN", "CMD", "ENTRYPOINT"))]
    for text in [*commands, *instructions]:
        assert not any(server in text for server in ("granian", "gunicorn", "uwsgi", "uvicorn")), text
    assert 'CMD ["python", "-m", "config.serve"' in dockerfile


def test_daphne_access_log_masks_card_numbers_in_paths_and_query_strings(tmp_path):
    port = _free_port()
    env = _server_env(tmp_path)
    log = tmp_path / "daphne.log"
    with _running(_procfile_web_command(port), env, log, port):
        base = f"http://127.0.0.1:{port}"
        statuses = [
            _status(f"{base}/api/v1/payments?customer_id={PAN}"),
            _status(f"{base}/api/v1/payments/{PAN}"),
        ]
        _wait_for_lines(log, '"logger": "daphne.access"', 2)
    assert statuses == [401, 401]
    written = log.read_text()
    access = [line for line in written.splitlines() if '"logger": "daphne.access"' in line]
    assert len(access) == 2, written
    assert_no_card_number(written)
    assert "/api/v1/payments/[PAN ****4242]" in access[1]


def test_daphne_access_lines_carry_the_request_id_of_their_response(tmp_path):
    """Daphne writes an access line in its reactor once the response is sent, where no request context is bound; the
    line names the request by the id its response carries, the caller's or the one the application made."""
    access_lines_by_target(_procfile_web_command, tmp_path, "daphne.access",
                           lambda message: message.split('"')[1].split()[1])


def _websocket_handshake(port: int, request_id: str | None) -> tuple[str, int, dict[str, str]]:
    """A WebSocket handshake on /ws/dashboard/, closed once answered: the client's address as an access line names
    it, the status, and the answer's headers (lower-case names)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = ["GET /ws/dashboard/ HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                "Connection: Upgrade", f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
                "Sec-WebSocket-Version: 13"]
        if request_id is not None:
            head.append(f"X-Request-ID: {request_id}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, answer
            answer += chunk
        host, client_port = sock.getsockname()[:2]
    client = f"{host}:{client_port}"
    status_line, *lines = answer.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return client, int(status_line.split()[1]), headers


def test_daphne_websocket_access_lines_carry_the_request_id_of_their_handshake(tmp_path):
    """A WebSocket's access lines come from Twisted's callbacks too: each names the connection by the id its
    handshake was answered with, the caller's, or one made when the caller gave none or one that could be a card
    number (the HTTP rule)."""
    port = _free_port()
    log = tmp_path / "daphne.log"
    with _running(_procfile_web_command(port), _server_env(tmp_path), log, port):
        answers = {given: _websocket_handshake(port, given) for given in ("req_ws_given_1", None, PAN)}
        _wait_for_lines(log, "WSDISCONNECT", len(answers))
        http_id = _request_id_answered(f"http://127.0.0.1:{port}/healthz")
        _wait_for_lines(log, "GET /healthz", 1)
    assert {given: status for given, (_, status, _) in answers.items()} == {"req_ws_given_1": 101, None: 101, PAN: 101}
    ids = {given: headers["x-request-id"] for given, (_, _, headers) in answers.items()}
    assert ids["req_ws_given_1"] == "req_ws_given_1"
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", made) for made in (ids[None], ids[PAN]))
    assert len({*ids.values(), http_id}) == 4
    written = log.read_text()
    assert_no_card_number(written)
    lines = [json.loads(line) for line in written.splitlines() if '"logger": "daphne.access"' in line]
    by_client: dict[str, set[tuple[str, str]]] = {}
    for line in lines:
        client, request = line["message"].split()[0], line["message"].split('"')[1]
        if request.startswith("WS"):
            by_client.setdefault(client, set()).add((request.split()[0], line["request_id"]))
    # Anonymous, so the dashboard accepts and closes (4403): connecting, connected and disconnected lines.
    assert by_client == {client: {(action, ids[given]) for action in ("WSCONNECTING", "WSCONNECT", "WSDISCONNECT")}
                         for given, (client, _, _) in answers.items()}
    # An HTTP request after them is not named by a WebSocket's id.
    assert [line["request_id"] for line in lines if "GET /healthz" in line["message"]] == [http_id]
