"""The admin's add pages are operation calls (core.admin_add): the operation's fields, its permission,
`invoke` as the staff member, one object per form however often it is submitted."""

import pytest
from django.urls import reverse

from accounts.models import Customer
from core.forms import AmountInput
from core.models import AuditEvent
from subscriptions.models import Plan
from tests.adminurls import admin_url
from tests.factories import CustomerFactory
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

WALLET_ADD = reverse("admin:wallets_wallet_add")
PLAN_ADD = reverse("admin:subscriptions_plan_add")
CUSTOMER_ADD = reverse("admin:accounts_customer_add")
TOKEN = "tok-" + "w" * 16


def errors(response):
    data = response.context["form"].errors.as_data()
    return {name: [(e.message, e.code) for e in errs] for name, errs in data.items()}


@pytest.mark.parametrize(("url", "fields"), [
    (WALLET_ADD, ["customer_id", "currency", "daily_limit"]),
    (PLAN_ADD, ["name", "amount", "currency", "interval", "interval_count", "trial_days", "metadata"]),
    (CUSTOMER_ADD, ["email", "name", "country", "metadata"]),
])
def test_the_add_page_is_the_operations_form(admin_client_for, url, fields):
    page = admin_client_for("admin").get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert list(form.fields) == fields
    amounts = [name for name, field in form.fields.items() if isinstance(field.widget, AmountInput)]
    assert amounts == [name for name in fields if name in ("amount", "daily_limit")]
    assert 'name="_token"' in page.content.decode()
    plural = page.context["opts"].verbose_name_plural.capitalize()
    assert f'{plural}</a>\n&rsaquo; {page.context["title"]}\n</div>' in page.content.decode()
    if "metadata" in fields:  # an empty object to fill in, not "null"
        assert 'id="id_metadata">\n{}</textarea>' in page.content.decode()


def test_the_metadata_a_staff_member_leaves_empty_is_an_empty_object(admin_client_for):
    r = admin_client_for("operator").post(CUSTOMER_ADD, {"_token": TOKEN, "email": "m@example.com", "name": "M",
                                                         "country": "DE", "metadata": "{}"})
    assert r.status_code == 302
    assert Customer.objects.get().metadata == {}


def test_a_customer_is_created_by_the_operation_and_audited_as_the_staff_member(admin_client_for):
    client = admin_client_for("operator")
    r = client.post(CUSTOMER_ADD, {"_token": TOKEN, "email": "new@example.com", "name": "New", "country": "DE"})
    customer = Customer.objects.get()
    assert (r.status_code, r.url) == (302, admin_url(customer))
    assert (customer.email, customer.name, customer.country) == ("new@example.com", "New", "DE")
    event = AuditEvent.objects.get(action="customer.created")
    assert (event.object_id, event.actor_type, event.actor_id, event.actor_label) == (
        customer.pk, "user", str(client.user.pk), client.user.get_username())
    shown = [str(m) for m in client.get(r.url).context["messages"]]
    assert shown == [f"The customer “{customer}” was added."]


def test_a_double_submit_creates_one_wallet(admin_client_for):
    client = admin_client_for("operator")
    customer = CustomerFactory()
    form = {"_token": TOKEN, "customer_id": customer.pk, "currency": "EUR", "daily_limit": "25.50"}
    first = client.post(WALLET_ADD, form)
    second = client.post(WALLET_ADD, form)
    wallet = Wallet.objects.get()
    assert (wallet.customer_id, wallet.currency, wallet.daily_limit) == (customer.pk, "EUR", 2550)
    assert (first.status_code, first.url) == (302, admin_url(wallet))
    assert (second.status_code, second.url) == (302, admin_url(wallet))
    assert AuditEvent.objects.filter(action="wallet.created").count() == 1
    shown = [str(m) for m in client.get(second.url).context["messages"]]
    assert shown == [f"The wallet “{wallet}” was added.", f"The wallet “{wallet}” was already added by this form."]


def test_a_duplicate_wallet_is_refused_with_the_apis_code_and_nothing_changes(admin_client_for, make_wallet):
    wallet = make_wallet("EUR")
    client = admin_client_for("operator")
    audited = AuditEvent.objects.count()
    r = client.post(WALLET_ADD, {"_token": TOKEN, "customer_id": wallet.customer_id, "currency": "EUR"})
    assert r.status_code == 200
    assert errors(r) == {"__all__": [("The customer already has a wallet in this currency. (wallet_exists)",
                                      "wallet_exists")]}
    assert list(Wallet.objects.values_list("pk", flat=True)) == [wallet.pk]
    assert AuditEvent.objects.count() == audited
    # The corrected form is a new call: it carries a new key.
    assert r.context["token"] != TOKEN


def test_an_unknown_customer_is_refused_and_nothing_is_created(admin_client_for):
    r = admin_client_for("admin").post(WALLET_ADD, {"_token": TOKEN, "customer_id": "cus_missing",
                                                    "currency": "USD"})
    assert r.status_code == 200
    assert [code for _, code in errors(r)["__all__"]] == ["not_found"]
    assert not Wallet.objects.exists()


def test_refusals_land_on_the_fields_they_name(admin_client_for):
    client = admin_client_for("operator")
    r = client.post(PLAN_ADD, {"_token": TOKEN, "name": "Gold", "amount": "1.999", "currency": "EUR",
                               "interval": "month", "interval_count": "1", "trial_days": "0"})
    assert r.status_code == 200
    assert list(errors(r)) == ["amount"]
    assert [message for message, _ in errors(r)["amount"]] == ["EUR amounts have at most 2 decimal places."]
    unsupported = client.post(PLAN_ADD, {"_token": TOKEN, "name": "Gold", "amount": "1", "currency": "XXX",
                                         "interval": "month", "interval_count": "1", "trial_days": "0"})
    assert list(errors(unsupported)) == ["currency"]
    assert not Plan.objects.exists()


@pytest.mark.parametrize(("role", "url", "changelist"), [
    ("finance", WALLET_ADD, "/admin/wallets/wallet/"),
    ("support", PLAN_ADD, "/admin/subscriptions/plan/"),
    ("auditor", CUSTOMER_ADD, "/admin/accounts/customer/"),
])
def test_without_the_operations_permission_no_add_page_and_no_button(admin_client_for, role, url, changelist):
    client = admin_client_for(role)
    assert client.get(url).status_code == 403
    assert client.post(url, {"_token": TOKEN, "email": "x@example.com", "name": "Gold", "amount": "1",
                             "currency": "USD", "interval": "month"}).status_code == 403
    assert not Customer.objects.exists() and not Plan.objects.exists()
    listing = client.get(changelist)
    assert listing.status_code == 200
    assert url not in listing.content.decode()
    assert url in admin_client_for("admin").get(changelist).content.decode()
