import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def probe(env_overrides: dict, *paths: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_overrides}
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("probe.py")), *paths], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.django_db
def test_healthz_and_readyz(client):
    r = client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    r = client.get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "checks": {"database": "ok", "cache": "ok"}})
    assert "no-cache" in r["Cache-Control"]


def test_database_down_gives_503_readyz_and_api():
    results = probe({"DJANGO_SETTINGS_MODULE": "config.settings.test",
                     "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable"},
                    "/healthz", "/readyz", "AUTH:/api/v1/customers")
    assert results["/healthz"]["status"] == 200
    ready = results["/readyz"]
    assert ready["status"] == 503
    assert json.loads(ready["body"])["checks"]["database"] == "unavailable"
    api = results["/api/v1/customers"]
    assert api["status"] == 503
    assert json.loads(api["body"]) == {"error": {
        "code": "service_unavailable", "message": "A required service is unavailable; retry later.",
        "details": {"request_id": "probe-request-01"}}}
    assert "127.0.0.1" not in api["body"]


def test_cache_down_gives_503_readyz():
    results = probe({"DJANGO_SETTINGS_MODULE": "config.settings.test", "REDIS_URL": "redis://127.0.0.1:1/0"},
                    "/readyz")
    ready = results["/readyz"]
    assert ready["status"] == 503
    assert json.loads(ready["body"])["checks"]["cache"] == "unavailable"
