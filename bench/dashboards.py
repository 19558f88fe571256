"""Latency and SQL statements of every dashboard page and the main admin changelists, as a staff
member who passed the second factor sees them (Django's test client in this process: the whole
middleware stack, no network).

Run it against a database seeded at volume (`manage.py seed_demo --scale large`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale_seed \\
        .venv/bin/python bench/dashboards.py --rounds 5

Pages are whatever `monitoring.dashboards.registry` has registered (the admin home `/admin/` is the
overview), each with its default period; the changelists are those of `CHANGELISTS` that the admin
site registers (`--all-changelists`: every registered model). Each URL is requested once to warm
up, then `--rounds` times; prints p50/p95/max in ms and the statements of the last request, and
exits 1 when a page does not answer 200 or, with `--budget-ms`, when a p95 is over the budget. A
staff user `bench-dashboards` with a confirmed TOTP device is created once (never used to log in
with a password).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import sys
import time

# The staff device's key column is encrypted: a key for this process when none is configured (the
# bench's device is made anew on each run, so it never needs an earlier run's key).
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", base64.b64encode(secrets.token_bytes(32)).decode())

from scratchdb import ensure_database, setup_django  # noqa: E402

CHANGELISTS = [
    "payments.payment",
    "payments.refund",
    "payments.paymentattempt",
    "accounts.customer",
    "wallets.wallet",
    "wallets.journalentry",
    "wallets.ledgeraccount",
    "subscriptions.subscription",
    "subscriptions.invoice",
    "core.auditevent",
    "core.event",
    "monitoring.alert",
]
USERNAME = "bench-dashboards"


def _client():
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.models import StaffTOTPDevice, User

    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = User.objects.create_superuser(USERNAME, email="bench-dashboards@bench.invalid", password=None)
    StaffTOTPDevice.objects.filter(user=user).only("pk").delete()  # an earlier run's key: never decrypted
    device = StaffTOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _urls(all_changelists: bool) -> list[tuple[str, str]]:
    from django.contrib import admin
    from django.urls import reverse

    from monitoring.dashboards import registry

    pages = registry.load()
    urls = [("page overview (admin home)", reverse("admin:index"))]
    urls += [(f"page {name}", f"/admin/dashboards/{name}/") for name in registry.NAMES if name in pages]
    registered = {m._meta.label_lower: m for m in admin.site._registry}
    labels = sorted(registered) if all_changelists else [label for label in CHANGELISTS if label in registered]
    for label in labels:
        meta = registered[label]._meta
        urls.append((f"list {label}", reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")))
    return urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--all-changelists", action="store_true")
    parser.add_argument("--budget-ms", type=float, default=None, help="Exit 1 when a p95 is above it.")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    # Static URLs without `collectstatic`'s manifest (what the test settings do too): the pages'
    # cost is the same, only the file names lose their hash.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    ensure_database("bench/dashboards.py")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client()
    failed = False
    print(f"{'what':44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for name, url in _urls(args.all_changelists):
        response = client.get(url)  # warm-up (imports, caches)
        if response.status_code != 200:
            print(f"{name:44} HTTP {response.status_code} at {url}")
            failed = True
            continue
        times = []
        queries = 0
        for _ in range(args.rounds):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            queries = len(captured)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:44} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f} {queries:8d}")
        if args.budget_ms is not None and p95 > args.budget_ms:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
