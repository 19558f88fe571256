"""Run in a subprocess by the tests: GETs some paths with the configured settings, prints JSON.

Used where the real thing must be absent or different (a database that is down, production
settings), which cannot be arranged inside the test process.
"""

import json
import sys

import django

django.setup()

from django.test import Client  # noqa: E402

results = {}
client = Client(raise_request_exception=False)
for path in sys.argv[1:]:
    headers = {}
    if path.startswith("AUTH:"):
        path = path[5:]
        headers["HTTP_AUTHORIZATION"] = "Bearer sk_abcdefghijkl_" + "x" * 43
    r = client.get(path, secure=True, HTTP_HOST="bo.example.com", HTTP_X_REQUEST_ID="probe-request-01", **headers)
    cookies = {name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"])} for name, m in r.cookies.items()}
    results[path] = {"status": r.status_code, "headers": dict(r.headers), "cookies": cookies,
                     "body": r.content.decode(errors="replace")[:4000]}
print(json.dumps(results))
