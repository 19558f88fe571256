"""Staff set a customer's KYC status with a note and an evidence reference: kept as a review, audited and
evented, through `update_customer_kyc` at every door; only with `accounts.change_customer_kyc`."""

import pytest
from auditlog.models import LogEntry

from accounts.models import Customer, KycReview
from core.models import AuditEvent, Event
from tests.adminurls import admin_url, operation_url
from tests.factories import CustomerFactory
from tests.mcp.conftest import McpClient

pytestmark = pytest.mark.django_db


def state(customer):
    return (Customer.objects.get(pk=customer.pk).kyc_status, KycReview.objects.count(), AuditEvent.objects.count(),
            Event.objects.count(), LogEntry.objects.count())


def test_rest_sets_the_status_with_note_and_evidence_audited_and_evented(client_for):
    customer = CustomerFactory(kyc_status="unverified")
    client = client_for("compliance:write", role="risk_analyst")
    response = client.post(f"/api/v1/customers/{customer.pk}/kyc", {
        "status": "verified", "note": "Passport and proof of address checked",
        "evidence_reference": "case-4711"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["object"], body["kyc_status"]) == (customer.pk, "customer", "verified")
    review = KycReview.objects.get()
    assert (review.customer_id, review.from_status, review.to_status, review.note, review.evidence_reference) == (
        customer.pk, "unverified", "verified", "Passport and proof of address checked", "case-4711")
    audit = AuditEvent.objects.get(action="customer.kyc_updated")
    assert (review.actor_type, review.actor_id, review.actor_label) == (
        audit.actor_type, audit.actor_id, audit.actor_label)
    assert review.actor_id == client.api_key.pk
    assert (audit.object_id, audit.details) == (customer.pk, {
        "from": "unverified", "to": "verified", "note": "Passport and proof of address checked",
        "evidence_reference": "case-4711", "review_id": review.pk})
    event = Event.objects.get(type="customer.kyc_updated")
    assert (event.data["object"]["kyc_status"], event.data["previous_attributes"]["kyc_status"]) == (
        "verified", "unverified")
    # The same status again changes nothing (no second review); a replay of the key answers the same.
    again = client.post(f"/api/v1/customers/{customer.pk}/kyc", {"status": "verified", "note": "re-checked"},
                        format="json")
    assert (again.status_code, again.json()["kyc_status"], KycReview.objects.count()) == (200, "verified", 1)


def test_a_note_is_required_and_the_status_must_be_known(client_for):
    customer = CustomerFactory(kyc_status="pending")
    client = client_for("compliance:write", role="risk_analyst")
    before = state(customer)
    missing = client.post(f"/api/v1/customers/{customer.pk}/kyc", {"status": "verified"}, format="json")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "validation_error")
    assert "note" in missing.json()["error"]["details"]["fields"]
    blank = client.post(f"/api/v1/customers/{customer.pk}/kyc", {"status": "verified", "note": "  "}, format="json")
    assert (blank.status_code, blank.json()["error"]["code"]) == (400, "validation_error")
    unknown = client.post(f"/api/v1/customers/{customer.pk}/kyc", {"status": "approved", "note": "x"},
                          format="json")
    assert (unknown.status_code, list(unknown.json()["error"]["details"]["fields"])) == (400, ["status"])
    absent = client.post("/api/v1/customers/cus_missing/kyc", {"status": "verified", "note": "x"}, format="json")
    assert absent.status_code == 404
    assert state(customer) == before


def test_without_the_permission_or_the_scope_nothing_changes(client_for):
    customer = CustomerFactory(kyc_status="unverified")
    operator = client_for("compliance:write", role="operator")  # may change customers, not their KYC
    no_scope = client_for("payments:write", role="risk_analyst")
    before = state(customer)
    refused = operator.post(f"/api/v1/customers/{customer.pk}/kyc", {"status": "verified", "note": "x"},
                            format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    refused = no_scope.post(f"/api/v1/customers/{customer.pk}/kyc", {"status": "verified", "note": "x"},
                            format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope")
    assert state(customer) == before


def test_mcp_tool_update_customer_kyc(make_key):
    customer = CustomerFactory(kyc_status="pending")
    mcp = McpClient(make_key("compliance:write", role="risk_analyst").raw_key)
    denied = McpClient(make_key("compliance:write", role="support").raw_key)
    done = mcp.ok("update_customer_kyc", {"customer_id": customer.pk, "status": "rejected",
                                          "note": "Document forged", "idempotency_key": "m1"})
    assert done["kyc_status"] == "rejected"
    assert KycReview.objects.get().to_status == "rejected"
    error = denied.error("update_customer_kyc", {"customer_id": customer.pk, "status": "verified", "note": "x",
                                                 "idempotency_key": "m2"})
    assert error["code"] == "permission_denied"
    assert Customer.objects.get(pk=customer.pk).kyc_status == "rejected"


def test_admin_button_changes_the_status_and_the_page_shows_the_reviews(staff_client):
    customer = CustomerFactory(kyc_status="unverified")
    analyst = staff_client("risk_analyst")
    page = analyst.get(admin_url(customer)).content.decode()
    assert operation_url(customer, "update_customer_kyc") in page
    done = analyst.post(operation_url(customer, "update_customer_kyc"), {
        "_operation": "update_customer_kyc", "_token": "tok-" + "k" * 12, "status": "pending",
        "note": "Documents requested", "evidence_reference": "ticket-9"})
    assert done.status_code == 302, done.content[:500]
    assert Customer.objects.get(pk=customer.pk).kyc_status == "pending"
    page = analyst.get(admin_url(customer)).content.decode()
    assert "Documents requested" in page and "ticket-9" in page and "KYC reviews" in page
    operator = staff_client("operator")
    assert operation_url(customer, "update_customer_kyc") not in operator.get(admin_url(customer)).content.decode()
    before = state(customer)
    refused = operator.post(operation_url(customer, "update_customer_kyc"), {
        "_operation": "update_customer_kyc", "_token": "tok-" + "o" * 12, "status": "verified", "note": "x"})
    assert refused.status_code == 403
    assert state(customer) == before


def test_risk_analyst_holds_the_permission_and_others_do_not(make_staff):
    assert make_staff(role="risk_analyst").has_perm("accounts.change_customer_kyc")
    assert make_staff(role="admin").has_perm("accounts.change_customer_kyc")
    for role in ("operator", "finance", "support", "auditor"):
        assert not make_staff(role=role).has_perm("accounts.change_customer_kyc"), role


def test_the_demo_shows_every_kyc_status_with_its_reviews():
    import random
    from collections import Counter
    from io import StringIO

    from accounts import demo

    demo.seed(rng=random.Random("1:accounts"), stdout=StringIO())
    statuses = Counter(Customer.objects.filter(email__endswith="@demo.example").values_list("kyc_status", flat=True))
    assert statuses == {"verified": 24, "unverified": 8, "pending": 4, "rejected": 4}
    recent = Counter(Customer.objects.filter(email__endswith="@new.demo.example").values_list("kyc_status",
                                                                                             flat=True))
    assert recent == {"verified": 6, "unverified": 4, "pending": 1, "rejected": 1}
    assert KycReview.objects.count() == 24 + 4 + 2 * 4 + 6 + 1 + 2
    again = StringIO()
    demo.seed(rng=random.Random("1:accounts"), stdout=again)
    assert "0 created, 52 already there, 0 KYC reviews" in again.getvalue()
    assert KycReview.objects.count() == 45
