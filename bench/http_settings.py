"""Settings of the server that bench/http.py starts: production's, with the bench's knobs on top.

Only what a bench run must pin or vary is changed here: one sandbox provider without simulated
latency (so the provider does not decide the numbers), and the psycopg options under test
(`BENCH_DB_OPTIONS`, a JSON object merged into DATABASES["default"]["OPTIONS"], e.g.
{"prepare_threshold": 5, "server_side_binding": true}). CONN_MAX_AGE is production's own
environment variable.
"""

import json
import os

from config.settings.production import *  # noqa: F403
from config.settings.production import DATABASES

PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}

_db_options = json.loads(os.environ.get("BENCH_DB_OPTIONS") or "{}")
if _db_options:
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), **_db_options}
