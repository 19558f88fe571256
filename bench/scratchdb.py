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

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
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
