"""Demo request metrics, measured: real API requests against the demo data, through every middleware
(the request metrics' own included), with a read-only key of the first active admin; the recorder's minute
is then written, and the batch's own duration is recorded as a custom measurement. Nothing is drawn at
random. Idempotent: done once (when no request metric exists yet) and only once a staff admin exists
(`make run` creates it after the first seed: the next seed measures)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.test import Client
from django.test.utils import override_settings

from core.context import Actor

from . import recorder
from .models import RequestMetricMinute
from .services_metrics import performance_metric_record

ROUNDS = 5
SCOPES = ["wallets:read", "payments:read", "monitoring:read"]


def _paths() -> list[str]:
    from payments.models import Payment
    from wallets.models import Wallet

    paths = ["/api/v1/customers", "/api/v1/wallets", "/api/v1/payments", "/api/v1/reports/performance"
             "?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z"]
    wallets = Wallet.objects.order_by("created", "id").values_list("pk", flat=True)[:3]
    payments = Payment.objects.order_by("created", "id").values_list("pk", flat=True)[:3]
    paths += [f"/api/v1/wallets/{pk}" for pk in wallets] + [f"/api/v1/payments/{pk}" for pk in payments]
    paths += ["/api/v1/wallets/wal_does_not_exist"]  # a real 404, counted as a refusal
    return paths


def seed(*, rng, stdout) -> None:
    if RequestMetricMinute.objects.exists():
        stdout.write("  request metrics: already measured")
        return
    owner = get_user_model().objects.filter(Q(is_superuser=True) | Q(groups__name="admin"), is_active=True,
                                            is_staff=True).order_by("pk").first()
    if owner is None:
        stdout.write("  request metrics: no admin user yet (measured by the next seed_demo)")
        return
    from accounts.services import api_key_create, api_key_revoke

    actor = Actor.system("seed_demo")
    created = api_key_create(actor=actor, owner=owner, name="demo request metrics", scopes=SCOPES)
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")), "localhost")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}", HTTP_HOST=host)
    paths = _paths()
    started = time.perf_counter()
    with override_settings(MONITORING_REQUEST_METRICS=True):
        for _ in range(ROUNDS):
            for path in paths:
                client.get(path, secure=True)
    batch_ms = (time.perf_counter() - started) * 1000
    api_key_revoke(actor=actor, api_key_id=created.api_key.pk)
    rows = recorder.flush()
    performance_metric_record(actor=actor, name="demo.seed_request_batch_ms", value=round(batch_ms, 3), unit="ms",
                              tags={"requests": str(ROUNDS * len(paths))})
    stdout.write(f"  request metrics: {ROUNDS * len(paths)} requests measured in {batch_ms:.0f} ms, {rows} minute rows")
