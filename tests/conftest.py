import os
import socket
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread
from rest_framework.test import APIClient

from accounts import services
from accounts.roles import ensure_roles_now
from core.context import Actor, clear_context
from core.snapshots import invalidate_all_now

REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


class _NoDelayWSGIServer(ThreadedWSGIServer):
    """The live server's answers without Nagle's wait: wsgiref writes the status line, its Date and Server lines and
    the other headers in separate sends, and the client's delayed ACK held the later ones back up to 40 ms. Schemathesis
    spent 58 of its 133 s so, in its read of the headers (py-spy)."""

    def get_request(self):
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


LiveServerThread.server_class = _NoDelayWSGIServer


def pytest_sessionfinish(session, exitstatus):
    # Django removes a SQLite test database's file (config/settings/test.py) but not the WAL and shared-memory files
    # beside it while a connection to it is still open: after full `-n 2` runs one worker's were left (~5 MB each;
    # which thread's connection outlives its test was not found: no module run alone leaves them). Only once the
    # database itself is gone: a WAL file holds committed rows until checkpointed.
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = database.get("TEST", {}).get("NAME")
    if database["ENGINE"] == "django.db.backends.sqlite3" and name and not Path(name).exists():
        for suffix in ("-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    if REQUIRE_POSTGRES:
        if connection.vendor != "postgresql":
            raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL.")
    # Under `pytest -n 2 --dist loadgroup` (make test) the thread-heavy tests (row locks, races,
    # benches, live browsers: marked postgres or transactional) run one after another on one
    # worker, so their timings do not depend on each other.
    for item in items:
        db = item.get_closest_marker("django_db")
        if item.get_closest_marker("postgres") or (db and db.kwargs.get("transaction")):
            item.add_marker(pytest.mark.xdist_group("serial"))


@pytest.fixture(autouse=True)
def _postgres_marker(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL-only test ran without PostgreSQL while REQUIRE_POSTGRES=1.")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def _fresh_context():
    clear_context()
    yield
    clear_context()


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    """A transactional test's database is emptied without signals: what it cached is not the next
    test's (core.snapshots)."""
    yield
    invalidate_all_now()


@pytest.fixture
def roles(db):
    # Transactional tests flush data-migration rows; this puts the roles back.
    ensure_roles_now()


@pytest.fixture
def kyc_limits(db):
    """Transactional tests flush data-migration rows; this puts the seeded KYC limits back (idempotent)."""
    import importlib

    from django.apps import apps

    importlib.import_module("wallets.migrations.0007_seed_kyc_limits").seed(apps, None)


@pytest.fixture
def actor():
    """Who a test's direct service calls act as."""
    return Actor.system("tests")


@pytest.fixture
def system_actor(actor):
    return actor


@pytest.fixture
def customer(db):
    from .factories import CustomerFactory

    return CustomerFactory()


@pytest.fixture
def one_sandbox(settings):
    """One sandbox provider, so routing has nothing to choose between."""
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    return "sandbox"


@pytest.fixture
def make_wallet(db, actor):
    """make_wallet(currency="USD", balance=0, customer=None, daily_limit=None): a wallet of a new
    customer (verified, as every CustomerFactory's: not held by KYC limits) or the one given, funded from
    the sandbox clearing account."""
    from .factories import CustomerFactory
    from .wallets_setup import open_wallet

    def make(currency="USD", balance=0, customer=None, daily_limit=None):
        wallet = open_wallet(actor=actor, customer=customer or CustomerFactory(), currency=currency,
                             balance=balance, daily_limit=daily_limit)
        wallet.refresh_from_db()
        wallet.account.refresh_from_db()
        return wallet

    return make


@pytest.fixture
def make_staff(roles):
    def make(role="admin", username=None, password="correct horse battery staple"):
        from .factories import StaffUserFactory

        kwargs = {"username": username} if username else {}
        return StaffUserFactory(role=role, password=password, **kwargs)

    return make


@pytest.fixture
def make_key(make_staff, system_actor):
    def make(scopes="*", role="admin", owner=None, **kwargs):
        owner = owner or make_staff(role=role)
        return services.api_key_create(actor=system_actor, owner=owner, name="test key", scopes=scopes, **kwargs)

    return make


@pytest.fixture
def api(make_key):
    """An API client authenticated with a `*` key of an admin."""
    created = make_key("*")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
    client.api_key = created.api_key
    return client


@pytest.fixture
def client_for(make_key):
    def make(scopes="*", role="admin"):
        created = make_key(scopes, role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
        client.api_key = created.api_key
        return client

    return make


@pytest.fixture
def verified_client():
    """Makes a browser session of a user who passed password and this second-factor device
    (as OTPMiddleware sees it); the user is on `client.user`."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    def make(user, device):
        client = Client()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        client.user = user
        return client

    return make


@pytest.fixture
def staff_client(make_staff, verified_client):
    """A browser session of a staff member who passed password and second factor."""
    from accounts.models import StaffTOTPDevice

    def make(role="admin"):
        user = make_staff(role=role)
        return verified_client(user, StaffTOTPDevice.objects.create(user=user, name="default", confirmed=True))

    return make


@pytest.fixture(autouse=True)
def _fresh_local_caches():
    # Per-process caches (core.localcache) keep rows of earlier tests, whose transactions rolled back.
    from core.localcache import clear_all

    clear_all()
    yield
    clear_all()
