import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .test_health import probe

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "prod-" + "k3Y9x" * 12,
    "ALLOWED_HOSTS": "bo.example.com",
    "DEBUG": "false",
    "FIELD_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi10ZXN0LWtleS0wMTIzNDU2Nzg5YWI=",
}


def manage(*args, env_overrides=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env.update(env_overrides or {})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_deploy_check_passes_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    # Set but empty, so a developer's .env (read only for unset variables) cannot fill it in.
    for secret in ("", "too-short-0123456789"):
        result = manage("check", env_overrides={**PRODUCTION, "SECRET_KEY": secret})
        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_debug_and_mcp_auth_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env_overrides={**PRODUCTION, "DEBUG": "true"})
    assert result.returncode == 0, result.stdout + result.stderr  # DEBUG from the environment is ignored
    result = manage("check", env_overrides={**PRODUCTION, "MCP_AUTH_DISABLED": "true"})
    assert result.returncode != 0
    assert "MCP_AUTH_DISABLED" in result.stderr


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory):
    """What the image's build step leaves: `collectstatic` with the production settings."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = manage("collectstatic", "--noinput", "-v", "0", env_overrides={**PRODUCTION, "STATIC_ROOT": str(root)})
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_production_headers_csp_hsts_and_secure_cookies(collected_static):
    results = probe({**PRODUCTION, "STATIC_ROOT": str(collected_static)}, "/healthz", "/admin/login/")
    headers = results["/healthz"]["headers"]
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    login = results["/admin/login/"]
    assert login["status"] == 200
    assert "Content-Security-Policy" in login["headers"]
    assert login["cookies"]["csrftoken"] == {"secure": True, "httponly": True}
    # Static files by their content-hashed names from the manifest, as WhiteNoise serves them.
    assert re.search(r'href="/static/admin/css/base\.[0-9a-f]{12}\.css"', login["body"])


def test_make_run_writes_e_mails_to_files_instead_of_flooding_the_console(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_BACKEND", "EMAIL_FILE_PATH", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.dev", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    code = ("from django.conf import settings; from django.core.mail import send_mail; "
            "print(settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH); "
            f"settings.EMAIL_FILE_PATH = {str(tmp_path / 'mail')!r}; "
            "send_mail('Invoice', 'Body', 'a@example.com', ['b@example.com'])")
    done = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"django.core.mail.backends.filebased.EmailBackend {ROOT / 'var' / 'mail'}"
    assert len(list((tmp_path / "mail").iterdir())) == 1
    assert "Invoice" not in done.stdout
