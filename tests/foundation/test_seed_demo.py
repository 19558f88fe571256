"""`manage.py seed_demo` as `make run` runs it (every app's part, in order), at a smaller size: its timeline is causal
and it leaves no backlog of its own for the alert rules and the health check to find."""

import datetime as dt
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from accounts import demo as accounts_demo
from accounts.models import Customer, KycReview
from core import clock
from core.models import OutboxMessage
from monitoring.alerts.rules import evaluate_all
from monitoring.models import Alert, HealthCheck
from payments import demo as payments_demo
from payments.models import Payment
from payments.risk import demo as risk_demo
from payments.services.postings import clearing_key, fees_key, revenue_key
from subscriptions import demo as subscriptions_demo
from subscriptions.models import Subscription
from wallets import demo as wallets_demo
from wallets.models import AccountType, LedgerAccount, Posting, Wallet

pytestmark = pytest.mark.django_db

# A pending proration line is made when the plan changes and joins the next invoice later, as at Stripe: older
# than its invoice by design.
LATER_BY_DESIGN = {("subscriptions.InvoiceLine", "invoice")}


@pytest.fixture
def seeded(monkeypatch, settings, tmp_path):
    settings.PAYMENTS_RISK_SCORER = ""  # the fraud model (18 s of training) is not what these tests are about
    settings.COMPLIANCE_EXPORT_DIR = str(tmp_path / "exports")
    settings.AUDIT_ARCHIVE_DIR = str(tmp_path / "archive")
    monkeypatch.setattr(risk_demo, "seed_model", lambda **kwargs: None)
    monkeypatch.setattr(payments_demo, "PAYMENT_COUNT", 30)
    monkeypatch.setattr(payments_demo, "WALLET_PAYMENTS", 10)
    monkeypatch.setattr(wallets_demo, "TRANSFERS", 10)
    monkeypatch.setattr(wallets_demo, "CONVERSIONS", 2)
    monkeypatch.setattr(subscriptions_demo, "SIGNUPS", 12)  # still over the whole year, the longest history
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _timestamp(model) -> str | None:
    field = next((f for f in model._meta.concrete_fields if f.name == "created"), None)
    return "created" if isinstance(field, models.DateTimeField) else None


def test_every_seeded_object_is_younger_than_what_it_refers_to(seeded):
    """Customers before their wallets, payments, subscriptions and KYC reviews; ledger accounts before their
    postings; and so on over every foreign key between two timestamped models."""
    checked, older = [], {}
    for model in apps.get_models():
        if _timestamp(model) is None:
            continue
        for field in model._meta.concrete_fields:
            if not field.many_to_one and not field.one_to_one:
                continue
            if _timestamp(field.related_model) is None or (model._meta.label, field.name) in LATER_BY_DESIGN:
                continue
            rows = model.objects.filter(**{f"{field.name}__isnull": False})
            if not rows.exists():
                continue
            checked.append(f"{model._meta.label}.{field.name}")
            count = rows.filter(created__lt=models.F(f"{field.name}__created")).count()
            if count:
                older[f"{model._meta.label}.{field.name}"] = count
    assert older == {}
    # The relations the demo's story is made of were there to check (the seed made rows of each).
    assert {"wallets.Wallet.customer", "payments.Payment.customer", "subscriptions.Subscription.customer",
            "subscriptions.Invoice.customer", "accounts.KycReview.customer", "wallets.Posting.account",
            "payments.Refund.payment"} <= set(checked)
    first = Customer.objects.filter(email__endswith="@demo.example").earliest("created").created
    last = Customer.objects.filter(email__endswith="@demo.example").latest("created").created
    # Every customer signed up before the first wallet, payment or subscription of anyone (a year back).
    earliest_use = min(Wallet.objects.earliest("created").created, Payment.objects.earliest("created").created,
                       Subscription.objects.earliest("created").created)
    assert first < last < earliest_use < clock.now() - dt.timedelta(days=300)
    assert KycReview.objects.filter(customer__email__endswith="@demo.example").count() == 36


def test_the_accounts_demos_post_to_from_the_start_are_opened_together_at_its_first_moment(seeded):
    """The wallets demo's sandbox clearing accounts and the payments demo's fee-schedule accounts (clearing, revenue,
    fees) are opened by one helper at one moment, the first customer's signup, whichever demo opens them first (each
    used to date them from its own clock, as far apart as the seeds between them took), and before the first posting
    on any of them."""
    start = Customer.objects.get(email=accounts_demo.demo_email(0)).created
    currencies = set(Wallet.objects.filter(customer__email__endswith="@demo.example").values_list("currency",
                                                                                                   flat=True))
    keys = ({("provider:sandbox", AccountType.PROVIDER_CLEARING, currency) for currency in currencies}
            | {key for provider, currency, *_ in payments_demo.FEES
               for key in (clearing_key(provider=provider, currency=currency), revenue_key(currency=currency),
                           fees_key(currency=currency))})
    assert currencies == {"EUR", "GBP", "JPY", "KWD", "USD"} and len(keys) == 13
    opened = {(a.owner, a.account_type, a.currency): a.created for a in LedgerAccount.objects.all()
              if (a.owner, a.account_type, a.currency) in keys}
    assert set(opened) == keys
    assert set(opened.values()) == {start}
    first_posting = Posting.objects.filter(account__owner__startswith="provider:").earliest("created").created
    assert start < first_posting


def test_the_seed_leaves_no_backlog_of_its_own_and_a_real_one_still_alerts(seeded):
    assert "queued tasks run" in seeded
    assert OutboxMessage.objects.filter(sent_at__isnull=True, next_attempt_at__lte=clock.now()).count() == 0
    assert not Alert.objects.filter(source="outbox_backlog").exists()
    outbox = next(c for c in HealthCheck.objects.get(source="seed_demo").components if c["name"] == "outbox")
    assert outbox["state"] == "ok"

    # The demo's own rule ("Outbox backlog": over 500 due or the oldest over 600 s) on a real backlog.
    now = clock.now()
    OutboxMessage.objects.create(task="x.y", created=now - dt.timedelta(minutes=20),
                                 next_attempt_at=now - dt.timedelta(minutes=20))
    with clock.frozen_at(now):
        evaluate_all()
    alert = Alert.objects.get(source="outbox_backlog")
    assert (alert.severity, alert.details["pending"], alert.details["oldest_age_seconds"]) == ("medium", 1, 1200.0)


def test_recent_signups_give_the_customers_dashboard_new_customers_and_own_nothing_yet(seeded):
    now = clock.now()
    recent = Customer.objects.filter(created__gte=now - dt.timedelta(days=30))
    assert sorted(recent.values_list("email", flat=True)) == [f"signup{i:03d}@new.demo.example" for i in range(12)]
    created = sorted(recent.values_list("created", flat=True))
    assert {later - earlier for earlier, later in zip(created, created[1:])} == {dt.timedelta(days=2.5)}
    assert now - dt.timedelta(minutes=5) < created[-1] <= now - dt.timedelta(minutes=1)  # "today" has one
    assert not Wallet.objects.filter(customer__in=recent).exists()
    assert not Payment.objects.filter(customer__in=recent).exists()
    assert not Subscription.objects.filter(customer__in=recent).exists()
    assert not KycReview.objects.filter(customer__in=recent, created__gt=now).exists()
    assert KycReview.objects.filter(customer__in=recent).count() == 6 + 1 + 2  # verified, pending, pending+rejected
