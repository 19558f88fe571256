"""`make serve` (granian through config.serve, DEBUG off) serves the admin's and the API docs' own static files.

The real Makefile target is started on a free port with the settings it uses (config.settings.dev,
DEBUG off), on a scratch SQLite file, and its pages are fetched over HTTP like a browser would.
"""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import django.contrib.admin
import drf_spectacular_sidecar

ROOT = Path(__file__).resolve().parents[2]
ADMIN_STATIC = Path(django.contrib.admin.__file__).parent / "static"
SIDECAR_STATIC = Path(drf_spectacular_sidecar.__file__).parent / "static"
IMMUTABLE = "max-age=315360000, public, immutable"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def start_make_serve(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "DEBUG", "DATABASE_URL", "REDIS_URL", "MAKEFLAGS", "MAKELEVEL")}
    # The pages fetched need no table; a scratch database keeps the developer's and CI's untouched.
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    log = open(tmp_path / "serve.log", "wb")  # closed in stop()
    proc = subprocess.Popen(["make", "-s", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    proc.log, proc.base = log, f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a first collectstatic takes a few seconds on 2 cores
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"make serve exited {proc.returncode}:\n{(tmp_path / 'serve.log').read_text()}")
        try:
            if get(proc.base + "/healthz")[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise AssertionError(f"make serve did not answer in time:\n{(tmp_path / 'serve.log').read_text()}")


def stop(proc):
    # make, granian's main process and its workers share the session started above.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    finally:
        proc.log.close()


def linked(page: str, pattern: str) -> str:
    match = re.search(pattern, page)
    assert match, f"{pattern} not in the page"
    return match.group(1)


def unhashed(content: bytes) -> bytes:
    """The collected file with the manifest's rewritten references (`url("x.<hash>.svg")`) put back."""
    return re.sub(rb'url\("([^"]+?)\.[0-9a-f]{12}(\.[a-z0-9]+)"\)', rb"url(\1\2)", content)


HASH = r"(?:\.[0-9a-f]{12})?"  # the manifest's content hash, asserted separately


def test_make_serve_serves_the_admin_and_api_docs_static_files(tmp_path):
    proc = start_make_serve(tmp_path)
    try:
        status, _, body = get(proc.base + "/admin/login/")
        assert status == 200
        css = linked(body.decode(), rf'href="(/static/admin/css/base{HASH}\.css)"')
        status, headers, content = get(proc.base + css)
        assert (status, headers["Content-Type"]) == (200, 'text/css; charset="utf-8"'), (css, status)
        assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", css)
        assert headers["Cache-Control"] == IMMUTABLE
        assert unhashed(content) == (ADMIN_STATIC / "admin/css/base.css").read_bytes()
        # The images the stylesheet names by their hashed names are served too.
        icon = linked(content.decode(), r'url\("\.\./img/(icon-yes\.[0-9a-f]{12}\.svg)"\)')
        status, headers, _ = get(f"{proc.base}/static/admin/img/{icon}")
        assert (status, headers["Content-Type"]) == (200, "image/svg+xml")

        status, _, body = get(proc.base + "/api/docs/")
        assert status == 200
        js = linked(body.decode(),
                    rf'src="(/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle{HASH}\.js)"')
        status, headers, content = get(proc.base + js)
        assert (status, headers["Content-Type"]) == (200, 'text/javascript; charset="utf-8"'), (js, status)
        assert re.search(r"bundle\.[0-9a-f]{12}\.js$", js)
        assert headers["Cache-Control"] == IMMUTABLE
        assert unhashed(content) == (SIDECAR_STATIC / "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
                                     ).read_bytes()
        css = linked(body.decode(), r'href="(/static/backoffice/swagger\.[0-9a-f]{12}\.css)"')
        assert get(proc.base + css)[0] == 200

        # An unknown static file is still a 404 (WhiteNoise serves what was collected, nothing else).
        assert get(proc.base + "/static/admin/css/nope.css")[0] == 404
    finally:
        stop(proc)
