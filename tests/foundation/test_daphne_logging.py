"""The ASGI server of `make run` (the Procfile's web line, also the Dockerfile's and compose's) writes its
access log through our logging: no card number in any line."""

import shlex
import sys
from pathlib import Path

import yaml

from tests.foundation.test_log_masking import PAN, assert_no_card_number
from tests.foundation.test_serve_logging import (
    _free_port,
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
