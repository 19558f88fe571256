import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_services():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "ws", "worker", "beat", "relay"}
    for name in ("web", "ws", "worker", "beat", "relay"):
        svc = services[name]
        assert svc["build"] == "."
        env = svc["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert env["FIELD_ENCRYPTION_KEYS"].startswith("${FIELD_ENCRYPTION_KEYS:?")
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert "migrate" in " ".join(services["web"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in services["beat"]["command"]
    assert services["web"]["ports"] == ["8000:8000"]
    # HTTP through the measured server and shape (config/serve.py), WebSockets through Daphne beside it (issue 12).
    assert "exec python -m config.serve --host 0.0.0.0 --port 8000" in " ".join(services["web"]["command"])
    assert services["ws"]["command"][:3] == ["python", "-m", "config.daphne"]
    assert "config.asgi:application" in services["ws"]["command"] and services["ws"]["ports"] == ["8001:8001"]
    assert services["relay"]["command"] == ["python", "manage.py", "outbox_relay"]


def test_make_run_starts_the_outbox_relay():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert procfile["relay"] == "exec .venv/bin/python manage.py outbox_relay"


def test_compose_database_credentials_agree():
    services = compose()["services"]
    pg = services["postgres"]["environment"]
    url = services["web"]["environment"]["DATABASE_URL"]
    assert url == f"postgres://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"


def test_dockerfile_installs_the_pins_and_runs_the_wsgi_app_with_the_asgi_app_beside_it():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert "pip install -r requirements.txt -c constraints.txt" in text
    assert "collectstatic" in text
    assert 'CMD ["python", "-m", "config.serve", "--host", "0.0.0.0", "--port", "8000"]' in text
    assert "config.asgi:application" in text  # the ws service's command, named in the image's notes
    assert (ROOT / "config" / "asgi.py").exists()
    # Every file the image copies before installing exists.
    for name in re.findall(r"^COPY (.+) \./$", text, re.M)[0].split():
        assert (ROOT / name).exists(), name
