"""The broker without Redis (kombu's filesystem transport, `make run`'s default) keeps every file it writes under
var/broker: kombu's default folder for exchanges is ./control, a stray folder in the project's root. Its URL names
a host, so kombu does not log "No hostname was supplied" at every connection."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from kombu import Connection, Exchange, Queue

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(urlsplit(settings.CELERY_BROKER_URL).scheme != "filesystem", reason="the broker is Redis here")
def test_a_fanout_exchange_is_kept_in_the_broker_folder_not_in_the_project_root(tmp_path, monkeypatch):
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    broker = Path(options["data_folder_in"])
    assert broker == ROOT / "var" / "broker"
    # The same layout under a scratch folder, run from the project's root as the worker is.
    relocated = {key: str(tmp_path / Path(value).relative_to(broker)) if isinstance(value, str) else value
                 for key, value in options.items()}
    (tmp_path / "processed").mkdir()
    monkeypatch.chdir(ROOT)
    with Connection(settings.CELERY_BROKER_URL, transport_options=relocated) as connection:
        exchange = Exchange("test.pidbox", type="fanout")
        Queue("test-queue", exchange=exchange)(connection.default_channel).declare()
    assert not (ROOT / "control").exists()
    assert (tmp_path / "control" / "test.pidbox.exchange").exists()


# What the worker does at start (its banner shows the connection's URI) and what sending a task does (a connection
# from the app's pool), in `make run`'s settings with neither REDIS_URL nor DATABASE_URL: every warning logged.
CONNECT = """
import json, logging, warnings
import django

django.setup()
logged = []


class Keep(logging.Handler):
    def emit(self, record):
        logged.append(f"{record.name} {record.levelname}: {record.getMessage()}")


logging.getLogger().addHandler(Keep(logging.WARNING))
with warnings.catch_warnings(record=True) as warned:
    warnings.simplefilter("always")
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        uri = connection.as_uri()
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)
        transport = producer.connection.transport.driver_type
print("RESULT " + json.dumps({"uri": uri, "transport": transport, "logged": logged,
                              "warned": [str(w.message) for w in warned]}))
"""


def test_the_default_broker_connects_without_a_warning(tmp_path):
    # A process of its own: this run's settings may have a Redis broker, and Celery's app is configured once.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # Empty, not unset: a developer's .env does not override what the environment says (read_env(overwrite=False)).
    env.update(DJANGO_SETTINGS_MODULE="config.settings.dev", REDIS_URL="",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    done = subprocess.run([sys.executable, "-c", CONNECT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result == {"uri": "filesystem://:**@localhost//", "transport": "filesystem", "logged": [], "warned": []}
