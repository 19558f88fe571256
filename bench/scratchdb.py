"""What every bench needs first: Django set up, and its scratch PostgreSQL database created and migrated."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A script run from bench/ has bench/ first on its path, where bench/http.py would stand in for the
# standard library's `http` (which Django imports): the folder goes last.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.append(str(_BENCH))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (from /proc; a vanished one counts 0)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def ms_cell(value: float | None, width: int = 7) -> str:
    """A table cell of milliseconds, right-aligned to `width`; "-" where nothing was measured."""
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.1f}"


def setup_django() -> None:
    import django

    django.setup()


def conninfo(dbname: str | None = None) -> dict:
    """psycopg connection arguments for the configured database (or `dbname` on the same server)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    info = {"dbname": dbname or db["NAME"], "user": db.get("USER") or None, "password": db.get("PASSWORD") or None,
            "host": db.get("HOST") or None, "port": db.get("PORT") or None}
    return {k: v for k, v in info.items() if v}


def ensure_database(script: str) -> None:
    """Creates the configured database if missing and migrates it; refuses anything but PostgreSQL."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db = settings.DATABASES["default"]
    if connection.vendor != "postgresql":
        raise SystemExit(f"{script} needs PostgreSQL: set DATABASE_URL.")
    with psycopg.connect(**conninfo(dbname="postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db["NAME"],)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def funded_wallets(count: int, *, domain: str, balance: int) -> list[tuple[str, int]]:
    """(wallet id, account id) of `count` USD wallets of verified customers `<n>@<domain>` (not held by
    KYC limits), each topped up with `balance` minor units from the sandbox clearing account; made once,
    through the services."""
    from accounts.models import Customer
    from accounts.services import customer_create, customer_kyc_update
    from core.context import Actor
    from core.db import use_case
    from wallets import ledger, services
    from wallets.models import AccountType, Wallet

    actor = Actor.system("bench")
    have = Customer.objects.filter(email__endswith=f"@{domain}").count()
    for i in range(have, count):
        @use_case
        def make(i: int = i) -> None:
            customer = customer_create(actor=actor, email=f"w{i:05d}@{domain}")
            customer_kyc_update(actor=actor, customer_id=customer.pk, kyc_status="verified", note="bench customer")
            wallet = services.wallet_create(actor=actor, customer_id=customer.pk, currency="USD")
            source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                           owner="provider:bench")
            services.wallet_credit_topup(wallet_id=wallet.pk, amount=balance, source=source, actor=actor,
                                         reference="bench")

        make()
    # Customers a run made before KYC limits existed.
    for customer_id in (Customer.objects.filter(email__endswith=f"@{domain}")
                        .exclude(kyc_status=Customer.KycStatus.VERIFIED).values_list("pk", flat=True)):
        customer_kyc_update(actor=actor, customer_id=customer_id, kyc_status="verified", note="bench customer")
    rows = (Wallet.objects.filter(customer__email__endswith=f"@{domain}")
            .order_by("customer__email").values_list("id", "account_id"))
    return list(rows)[:count]


def rest_transfer_door(name: str):
    """POST /api/v1/transfers through the whole request stack (middleware, key, throttle, DRF), in this
    process (Django's test client: no socket, no server), with an admin's `*` key of the bench `name`.
    Returns transfer(from_wallet_id, to_wallet_id, amount_minor); a refusal raises."""
    import secrets

    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.services import api_key_create, staff_user_create
    from core.context import Actor

    actor = Actor.system("bench")
    user = get_user_model().objects.filter(username=f"{name}-bench-admin").first()
    if user is None:
        user = staff_user_create(actor=actor, username=f"{name}-bench-admin", password=secrets.token_urlsafe(24),
                                 role="admin", with_totp=False).user
    key = api_key_create(actor=actor, owner=user, name=f"{name} bench", scopes="*").raw_key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", SERVER_NAME="localhost")

    def transfer(a: str, b: str, amount: int) -> None:
        response = client.post("/api/v1/transfers", {"from_wallet_id": a, "to_wallet_id": b,
                                                     "amount": f"{amount / 100:.2f}", "currency": "USD"},
                               content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(f"transfer answered {response.status_code}: {response.content[:300]!r}")

    return transfer


def timed_transfers(transfer, wallets: list[str], seconds: float, rng) -> int:
    """Transfers between random pairs of `wallets`, one after another, for `seconds`; how many were made."""
    import time

    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        a, b = rng.sample(wallets, 2)
        transfer(a, b, 1 + done % 997)
        done += 1
    return done
