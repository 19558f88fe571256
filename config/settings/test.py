"""Settings for pytest: fast hashing, eager-free Celery, a per-run Redis key prefix."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CACHES, CHANNEL_LAYERS, DATABASES, LOGGING, REDIS_URL

SECRET_KEY = "test-secret-key-for-the-suite-only-0123456789-abcdefghijklmnopqrstuvwxyz"
API_KEY_HMAC_SECRET = SECRET_KEY
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = False
ALLOWED_HOSTS = ["*"]
# A fixed key so encrypted test rows open in every process of the run (never used anywhere else).
FIELD_ENCRYPTION_KEYS = "dGVzdC1maWVsZC1lbmNyeXB0aW9uLWtleS0zMmJ5dGU="

# Parallel test runs (and pytest-xdist's workers) must not see each other's keys in Redis: throttle
# counters, channel groups, queued tasks.
if REDIS_URL:
    CACHES["default"]["KEY_PREFIX"] = f"bo-test-{os.getpid()}"
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"bo-test-{os.getpid()}:asgi"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"bo-test-{os.getpid()}:"}
# On SQLite the test database is a file in WAL mode, as `make run`'s is, not Django's default of a
# shared-cache in-memory database: there a reader that meets another connection's write gets "database
# table is locked" at once (no busy wait), as Daphne's live feed did beside a REST write in a browser test.
# pytest-xdist's workers each add their own suffix to the name.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"bo-test-{os.getpid()}.sqlite3")}
LOGGING_CONFIG = None
import logging.config  # noqa: E402

# The production logging (JSON lines, request context, card-number mask, daphne.access) with a quieter root.
logging.config.dictConfig({**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}})

# The request log is off in tests (the statement counts of a request are pinned without it); its own tests
# switch it on, written right after each answer in the test's connection instead of from a thread.
REQUEST_LOG_ENABLED = False
REQUEST_LOG_BACKGROUND = False

# Tests don't run collectstatic; serve from the finders and keep the plain storage.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Request metrics stay in memory during tests (no writer thread, no write in a test's transaction);
# tests of the recorder call flush() or switch to "inline".
MONITORING_METRICS_FLUSH = "off"
