"""The broker without Redis (kombu's filesystem transport, `make run`'s default) keeps every file it writes under
var/broker: kombu's default folder for exchanges is ./control, a stray folder in the project's root."""

from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection, Exchange, Queue

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(settings.CELERY_BROKER_URL != "filesystem://", reason="the broker is Redis here")
def test_a_fanout_exchange_is_kept_in_the_broker_folder_not_in_the_project_root(tmp_path, monkeypatch):
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    broker = Path(options["data_folder_in"])
    assert broker == ROOT / "var" / "broker"
    # The same layout under a scratch folder, run from the project's root as the worker is.
    relocated = {key: str(tmp_path / Path(value).relative_to(broker)) if isinstance(value, str) else value
                 for key, value in options.items()}
    (tmp_path / "processed").mkdir()
    monkeypatch.chdir(ROOT)
    with Connection("filesystem://", transport_options=relocated) as connection:
        exchange = Exchange("test.pidbox", type="fanout")
        Queue("test-queue", exchange=exchange)(connection.default_channel).declare()
    assert not (ROOT / "control").exists()
    assert (tmp_path / "control" / "test.pidbox.exchange").exists()
