"""Every admin page a staff member can open answers: each registered model's list, its add page
where adding is allowed, and the change page of a real object made through the services."""

import datetime as dt

import pytest
import time_machine
from django.contrib import admin
from django.db import transaction
from django.urls import reverse

from accounts import services as account_services
from core.context import Actor
from payments import services as payment_services
from subscriptions import services as subscription_services
from tests.adminurls import admin_url
from wallets import ledger
from wallets import services as wallet_services
from wallets.models import AccountType

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff_client):
    return staff_client("admin")


@pytest.fixture
def business(settings):
    """One of each kind of object, made the way the product makes them."""
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    actor = Actor.system("tests")
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False):
        with transaction.atomic():
            customer = account_services.customer_create(actor=actor, email="smoke@example.com", name="Smoke")
            # Verified: the smoke test shows pages, not KYC limits (a KYC review to show, too).
            account_services.customer_kyc_update(actor=actor, customer_id=customer.pk, kyc_status="verified",
                                                 note="documents checked", evidence_reference="doc-1")
            other = account_services.customer_create(actor=actor, email="other@example.com", name="Other")
            wallet = wallet_services.wallet_create(actor=actor, customer_id=customer.pk, currency="USD")
            target = wallet_services.wallet_create(actor=actor, customer_id=other.pk, currency="USD")
            clearing = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                             owner="provider:sandbox")
            wallet_services.wallet_credit_topup(wallet_id=wallet.pk, amount=10_000, source=clearing, actor=actor,
                                                reference="smoke")
            wallet_services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=target.pk,
                                            amount=2_500, currency="USD", description="smoke")
        payment = payment_services.payment_create(actor=actor, customer_id=customer.pk, amount=4_200,
                                                  currency="USD", method="card", payment_method="tok_visa")
        payment_services.refund_create(actor=actor, payment_id=payment.pk, amount=1_000)
        payment_services.payment_create(actor=actor, customer_id=customer.pk, amount=999, currency="USD",
                                        method="card", payment_method="tok_decline_generic")
        plan = subscription_services.plan_create(actor=actor, name="Smoke plan", amount=3_000, currency="USD",
                                                 interval="month", interval_count=1, trial_days=0)
        subscription_services.subscription_create(actor=actor, customer_id=customer.pk, plan_id=plan.pk,
                                                  payment_method="tok_visa")


def test_every_admin_page_answers(admin_client, business):
    checked = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = admin_client.get(changelist)
        assert response.status_code == 200, (changelist, response.status_code)
        checked.append(changelist)
        obj = model_admin.get_queryset(_request()).first()
        if obj is not None:
            change = admin_url(obj)
            response = admin_client.get(change)
            assert response.status_code == 200, (change, response.status_code)
            checked.append(change)
    for name in ("payments_payment", "wallets_wallet", "subscriptions_subscription", "subscriptions_invoice",
                 "wallets_journalentry", "accounts_customer"):
        assert any(f"/admin/{name.replace('_', '/', 1)}/" in url and url.endswith("/change/") for url in checked), name
    assert admin_client.get("/admin/").status_code == 200


def _request():
    from django.test import RequestFactory

    from accounts.models import User

    request = RequestFactory().get("/admin/")
    request.user = User.objects.filter(is_staff=True).first()
    return request
