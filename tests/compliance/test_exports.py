"""Compliance exports: exact files for each kind and format (masked and not), progress, refusals with
nothing created, audit of create and download, expiry, the file endpoint's authentication, MCP."""

import datetime as dt
import json

import pytest
from rest_framework.test import APIClient

from accounts.models import Customer
from compliance.masking import mask_email, mask_emails_in, mask_ip, mask_name
from compliance.models import ComplianceExport
from core import clock
from core.models import AuditEvent, OutboxMessage
from core.outbox import run_due_locally
from payments.models import Payment, Refund
from wallets.models import JournalEntry, Posting

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DAY = "2026-03-10"
URL = "/api/v1/compliance/exports"


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.COMPLIANCE_EXPORT_DIR = tmp_path / "exports"
    return settings.COMPLIANCE_EXPORT_DIR


def _customer(email, name, at):
    return Customer.objects.create(email=email, name=name, country="DE", created=at, updated=at)


@pytest.fixture
def planted(make_wallet):
    """One customer, payment, refund and top-up on DAY; a customer just before and just after it."""
    before = _customer("early@example.com", "Early Bird", dt.datetime(2026, 3, 9, 23, 59, 59, tzinfo=dt.UTC))
    after = _customer("late@example.com", "Late Comer", dt.datetime(2026, 3, 11, tzinfo=dt.UTC))
    jane = _customer("jane@example.com", "Jane Q Doe", T0)
    payment = Payment.objects.create(
        customer=jane, amount=1050, currency="USD", method="card", payment_method="tok_visa", card_brand="visa",
        card_country="US", card_last4="4242", status="succeeded", amount_captured=1050, amount_refunded=250,
        fee_amount=61, provider="sandbox", provider_reference="sb_1", ip_address="203.0.113.7", ip_country="US",
        channel="web", description="order for jane@example.com", merchant_reference="ord-1", risk_score=12,
        risk_decision="allow", created=T0 + dt.timedelta(minutes=1), updated=T0 + dt.timedelta(minutes=2))
    refund = Refund.objects.create(
        payment=payment, amount=250, currency="USD", reason="requested_by_customer", note="asked by phone",
        status="succeeded", created=T0 + dt.timedelta(minutes=3), updated=T0 + dt.timedelta(minutes=3))
    with clock.frozen_at(T0 + dt.timedelta(minutes=4)):
        wallet = make_wallet("EUR", balance=1234, customer=jane)
    return {"before": before, "after": after, "jane": jane, "payment": payment, "refund": refund, "wallet": wallet}


def _export(client, **body):
    body = {"kind": "customers", "format": "csv", "from": DAY, "to": DAY, **body}
    return client.post(URL, body, format="json")


def _run_and_download(client, **body):
    response = _export(client, **body)
    assert response.status_code == 202, response.json()
    export_id = response.json()["id"]
    assert run_due_locally() >= 1
    status = client.get(f"{URL}/{export_id}").json()
    assert status["status"] == "succeeded", status
    download = client.get(status["download_url"])
    assert download.status_code == 200, download.content
    return export_id, b"".join(download.streaming_content).decode(), download


def test_masking_helpers():
    assert mask_email("jane@example.com") == "j***@e***.com"
    assert mask_email("a.b@mail.example.co.uk") == "a***@m***.uk"
    assert mask_name("Jane Q Doe") == "J*** Q*** D***"
    assert mask_ip("203.0.113.7") == "203.0.113.x"
    assert mask_ip("2001:db8:1:2::5") == "2001:db8:1:2:x"
    assert mask_ip("nonsense") == "x"
    assert (mask_email(""), mask_name(""), mask_ip(None)) == ("", "", "")
    assert mask_emails_in("key_ab (jane@example.com)") == "key_ab (j***@e***.com)"


def test_customers_csv_masked_and_unmasked(api, planted):
    jane = planted["jane"]
    _, text, download = _run_and_download(api, kind="customers", format="csv")
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"].startswith('attachment; filename="exp_')
    assert text == ("id,created,updated,email,name,country,status,kyc_status\r\n"
                    f"{jane.id},2026-03-10T12:00:00Z,2026-03-10T12:00:00Z,j***@e***.com,J*** Q*** D***,DE,active,"
                    "unverified\r\n")
    _, text, _ = _run_and_download(api, kind="customers", format="csv", include_pii=True)
    assert text == ("id,created,updated,email,name,country,status,kyc_status\r\n"
                    f"{jane.id},2026-03-10T12:00:00Z,2026-03-10T12:00:00Z,jane@example.com,Jane Q Doe,DE,active,"
                    "unverified\r\n")


def _jsonl(*rows):
    return "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)


def _payment_row(planted, *, pii):
    payment, jane = planted["payment"], planted["jane"]
    return {
        "id": payment.id, "created": "2026-03-10T12:01:00Z", "updated": "2026-03-10T12:02:00Z",
        "customer_id": jane.id, "status": "succeeded", "amount": "10.50", "currency": "USD", "method": "card",
        "payment_method": "tok_visa", "card_brand": "visa", "card_country": "US", "card_last4": "4242",
        "capture_method": "automatic", "amount_captured": "10.50", "amount_refunded": "2.50", "fee_amount": "0.61",
        "provider": "sandbox", "provider_reference": "sb_1", "failure_code": "",
        "description": "order for jane@example.com" if pii else "order for j***@e***.com",
        "merchant_reference": "ord-1", "ip_address": "203.0.113.7" if pii else "203.0.113.x", "ip_country": "US",
        "channel": "web", "risk_score": 12, "risk_decision": "allow", "review_status": "none",
    }


@pytest.mark.parametrize("pii", [False, True])
def test_payments_jsonl_and_csv(api, planted, pii):
    _, text, download = _run_and_download(api, kind="payments", format="jsonl", include_pii=pii)
    assert download["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert text == _jsonl(_payment_row(planted, pii=pii))
    _, text, _ = _run_and_download(api, kind="payments", format="csv", include_pii=pii)
    row = _payment_row(planted, pii=pii)
    assert text == ",".join(row) + "\r\n" + ",".join(str(value) for value in row.values()) + "\r\n"


def test_refunds_csv_and_jsonl(api, planted):
    refund, payment = planted["refund"], planted["payment"]
    _, text, _ = _run_and_download(api, kind="refunds", format="csv")
    assert text == ("id,created,updated,payment_id,status,amount,currency,reason,note,failure_reason,"
                    "provider_reference,journal_id\r\n"
                    f"{refund.id},2026-03-10T12:03:00Z,2026-03-10T12:03:00Z,{payment.id},succeeded,2.50,USD,"
                    "requested_by_customer,asked by phone,,,\r\n")
    _, text, _ = _run_and_download(api, kind="refunds", format="jsonl")
    assert text == _jsonl({"id": refund.id, "created": "2026-03-10T12:03:00Z", "updated": "2026-03-10T12:03:00Z",
                           "payment_id": payment.id, "status": "succeeded", "amount": "2.50", "currency": "USD",
                           "reason": "requested_by_customer", "note": "asked by phone", "failure_reason": "",
                           "provider_reference": "", "journal_id": ""})


def test_ledger_entries_one_row_per_posting(api, planted):
    jane = planted["jane"]
    entry = JournalEntry.objects.get(postings__account__owner=jane.id)
    out, into = Posting.objects.filter(entry=entry).order_by("amount")
    assert (out.amount, into.amount) == (-1234, 1234)
    _, text, _ = _run_and_download(api, kind="ledger_entries", format="csv")
    rows = sorted([(out.id, f"{entry.id},{out.id},{entry.kind},provider_clearing:provider:sandbox:EUR,debit,12.34,EUR,"
                            "2026-03-10T12:04:00Z"),
                   (into.id, f"{entry.id},{into.id},{entry.kind},customer_wallet:{jane.id}:EUR,credit,12.34,EUR,"
                             "2026-03-10T12:04:00Z")])
    assert text == ("journal_id,posting_id,kind,account,direction,amount,currency,created\r\n"
                    + "".join(line + "\r\n" for _, line in rows))
    _, text, _ = _run_and_download(api, kind="ledger_entries", format="jsonl")
    assert [json.loads(line)["direction"] for line in text.splitlines()] == [
        "debit" if pk == out.id else "credit" for pk, _ in rows]
    assert json.loads(text.splitlines()[0])["posting_id"] == rows[0][0]


def test_audit_events_mask_ip_emails_in_label_and_details(api):
    day = dt.datetime(2026, 3, 12, 8, 30, tzinfo=dt.UTC)
    event = AuditEvent.objects.create(
        occurred_at=day, action="customer.created", actor_type="api_key", actor_id="key_1",
        actor_label="key_ab12 (jane@example.com)", object_type="accounts.customer", object_id="cus_1",
        request_id="req-1", ip_address="198.51.100.23", user_agent="curl/8", details={"email": "jane@example.com",
                                                                                        "n": 1})
    AuditEvent.objects.create(occurred_at=day + dt.timedelta(days=1), action="customer.created", actor_type="system")
    base = {"id": event.id, "seq": None, "occurred_at": "2026-03-12T08:30:00Z", "action": "customer.created",
            "outcome": "success", "actor_type": "api_key", "actor_id": "key_1"}
    tail = {"object_type": "accounts.customer", "object_id": "cus_1", "request_id": "req-1"}
    period = {"from": "2026-03-12", "to": "2026-03-12"}
    _, text, _ = _run_and_download(api, kind="audit_events", format="jsonl", **period)
    assert text == _jsonl({**base, "actor_label": "key_ab12 (j***@e***.com)", **tail, "ip_address": "198.51.100.x",
                           "user_agent": "curl/8", "details": {"email": "j***@e***.com", "n": 1}})
    _, text, _ = _run_and_download(api, kind="audit_events", format="csv", include_pii=True, **period)
    assert text == ("id,seq,occurred_at,action,outcome,actor_type,actor_id,actor_label,object_type,object_id,"
                    "request_id,ip_address,user_agent,details\r\n"
                    f"{event.id},,2026-03-12T08:30:00Z,customer.created,success,api_key,key_1,"
                    'key_ab12 (jane@example.com),accounts.customer,cus_1,req-1,198.51.100.23,curl/8,'
                    '"{""email"":""jane@example.com"",""n"":1}"\r\n')


def test_card_numbers_never_appear(api, planted):
    for kind in ("payments", "customers", "refunds"):
        _, text, _ = _run_and_download(api, kind=kind, format="jsonl", include_pii=True)
        assert "4242424242424242" not in text


def _nothing_created():
    assert ComplianceExport.objects.count() == 0
    assert not OutboxMessage.objects.filter(task="compliance.run_export").exists()
    assert not AuditEvent.objects.filter(action="compliance.export_created").exists()


def test_create_answers_202_pending_then_progress_and_audit(api, planted):
    response = _export(api, kind="customers", format="jsonl")
    assert response.status_code == 202
    body = response.json()
    export = ComplianceExport.objects.get()
    assert body == {
        "id": export.id, "object": "compliance_export", "kind": "customers", "format": "jsonl", "include_pii": False,
        "status": "pending", "progress": {"rows_written": 0, "rows_total": None, "percent": 0}, "size": None,
        "sha256": None, "error": None,
        "requested_by": {"type": "api_key", "id": api.api_key.id, "label": export.actor_label},
        "download_url": None, "created": clock.isoformat(export.created), "completed_at": None, "expires_at": None,
        "from": DAY, "to": DAY,
    }
    event = AuditEvent.objects.get(action="compliance.export_created")
    assert (event.object_id, event.actor_type, event.actor_id, event.details) == (
        export.id, "api_key", api.api_key.id,
        {"kind": "customers", "format": "jsonl", "from": DAY, "to": DAY, "include_pii": False})
    assert OutboxMessage.objects.filter(task="compliance.run_export", args=[export.id]).count() == 1

    assert run_due_locally() == 1
    export.refresh_from_db()
    body = api.get(f"{URL}/{export.id}").json()
    assert body["status"] == "succeeded"
    assert body["progress"] == {"rows_written": 1, "rows_total": 1, "percent": 100}
    assert body["download_url"] == f"{URL}/{export.id}/file"
    assert body["expires_at"] == clock.isoformat(export.completed_at + dt.timedelta(hours=24))
    path = export_dir_path(export)
    assert (body["size"], body["sha256"]) == (path.stat().st_size, _sha256(path))
    completed = AuditEvent.objects.get(action="compliance.export_completed")
    assert (completed.object_id, completed.actor_type, completed.details["rows"]) == (export.id, "task", 1)

    download = api.get(body["download_url"])
    assert download.status_code == 200
    assert download["X-Content-SHA256"] == body["sha256"]
    event = AuditEvent.objects.get(action="compliance.export_downloaded")
    assert (event.object_id, event.actor_type, event.actor_id) == (export.id, "api_key", api.api_key.id)
    assert event.details == {"kind": "customers", "format": "jsonl", "include_pii": False, "sha256": body["sha256"]}


def export_dir_path(export):
    from django.conf import settings

    return settings.COMPLIANCE_EXPORT_DIR / export.file_path


def _sha256(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_progress_is_reported_after_every_chunk(planted):
    from compliance import exports

    _customer("third@example.com", "Third", T0 + dt.timedelta(hours=1))
    seen = []
    written, size, _ = exports.write_export("customers", "csv", dt.date(2026, 3, 9), dt.date(2026, 3, 11),
                                            include_pii=False, path=exports.export_dir() / "x.csv",
                                            on_chunk=seen.append, chunk_size=1)
    assert (written, seen) == (4, [1, 2, 3, 4])
    assert size == (exports.export_dir() / "x.csv").stat().st_size
    assert not (exports.export_dir() / "x.csv.part").exists()


def test_idempotent_create(api):
    first = api.post(URL, {"kind": "payments", "format": "csv", "from": DAY, "to": DAY}, format="json",
                     HTTP_IDEMPOTENCY_KEY="exp-1")
    again = api.post(URL, {"kind": "payments", "format": "csv", "from": DAY, "to": DAY}, format="json",
                     HTTP_IDEMPOTENCY_KEY="exp-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (202, 202, "true")
    assert again.json()["id"] == first.json()["id"]
    assert ComplianceExport.objects.count() == 1
    assert OutboxMessage.objects.filter(task="compliance.run_export").count() == 1


def test_read_scope_cannot_create(client_for):
    response = _export(client_for("compliance:read"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    _nothing_created()


def test_role_without_export_permission_cannot_create(client_for):
    response = _export(client_for("compliance:write", role="support"))
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied", "message": "You do not have permission to do this.",
        "details": {"required_permission": "compliance.export_compliance_data"}}
    _nothing_created()


def test_include_pii_needs_the_personal_data_permission(client_for):
    auditor = client_for("compliance:write", role="auditor")
    response = _export(auditor, include_pii=True)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert response.json()["error"]["details"] == {"required_permission": "compliance.export_personal_data"}
    _nothing_created()
    assert _export(auditor).status_code == 202  # without personal data the auditor may export


@pytest.mark.parametrize("body, field", [
    ({"from": "2026-03-10", "to": "2026-03-09"}, "to"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
    ({"from": "1999-12-31"}, "from"),
    ({"from": "2026-13-01"}, "from"),
    ({"to": 20260310}, "to"),
    ({"kind": "wallets"}, "kind"),
    ({"format": "xlsx"}, "format"),
    ({"limit": 5}, "limit"),
])
def test_invalid_input_is_a_validation_error(api, body, field):
    response = _export(api, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]["fields"]) == [field]
    _nothing_created()


def test_a_whole_year_is_accepted(api):
    assert _export(api, **{"from": "2024-01-01", "to": "2024-12-31"}).status_code == 202  # 366 days


def _succeeded(api, **body):
    response = _export(api, **body)
    assert response.status_code == 202
    run_due_locally()
    return ComplianceExport.objects.get(pk=response.json()["id"])


def _downloads():
    return AuditEvent.objects.filter(action="compliance.export_downloaded").count()


def test_download_expires_after_24_hours_and_the_file_is_purged(api, planted):
    export = _succeeded(api)
    url = f"{URL}/{export.id}/file"
    with clock.frozen_at(export.expires_at - dt.timedelta(seconds=1)):
        assert api.get(url).status_code == 200
    with clock.frozen_at(export.expires_at):
        response = api.get(url)
        assert response.status_code == 410
        assert response.json()["error"]["code"] == "export_expired"
        assert api.get(f"{URL}/{export.id}").json()["download_url"] is None
        from compliance.tasks import purge_expired_exports

        assert purge_expired_exports.apply().get() == 1
        assert purge_expired_exports.apply().get() == 0
    assert not export_dir_path(export).exists()
    assert AuditEvent.objects.filter(action="compliance.export_file_deleted", object_id=export.id).count() == 1
    assert _downloads() == 1


def test_download_needs_authentication(api, planted):
    export = _succeeded(api)
    response = APIClient().get(f"{URL}/{export.id}/file")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert _downloads() == 0


def test_download_refusals(api, planted, client_for):
    export = _succeeded(api)
    url = f"{URL}/{export.id}/file"
    response = client_for("compliance:read", role="support").get(url)
    assert (response.status_code, response.json()["error"]["details"]) == (
        403, {"required_permission": "compliance.export_compliance_data"})
    response = client_for("payments:read", role="admin").get(url)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")
    assert client_for("compliance:read", role="auditor").get(url).status_code == 200
    assert _downloads() == 1
    assert api.get(f"{URL}/exp_doesnotexist/file").status_code == 404


def test_personal_data_export_download_needs_the_personal_data_permission(api, planted, client_for):
    export = _succeeded(api, include_pii=True)
    response = client_for("compliance:read", role="auditor").get(f"{URL}/{export.id}/file")
    assert (response.status_code, response.json()["error"]["details"]) == (
        403, {"required_permission": "compliance.export_personal_data"})
    assert client_for("compliance:read", role="finance").get(f"{URL}/{export.id}/file").status_code == 200
    assert _downloads() == 1


def test_download_of_an_unfinished_export_is_409(api):
    export_id = _export(api).json()["id"]
    response = api.get(f"{URL}/{export_id}/file")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "export_not_ready")


def test_a_failing_export_is_recorded_and_raised(api, planted, export_dir):
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    export_dir.write_text("not a directory")
    export_id = _export(api).json()["id"]
    with pytest.raises(OSError):
        run_due_locally()
    body = api.get(f"{URL}/{export_id}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["message"].startswith("FileExistsError")
    assert body["download_url"] is None
    assert AuditEvent.objects.get(action="compliance.export_failed").details == {"error_code": "internal_error"}


def test_an_export_whose_worker_was_lost_is_failed_by_the_hourly_job(api, planted):
    from compliance.services import _claim
    from compliance.tasks import purge_expired_exports
    from core.db import run_in_transaction

    export_id = _export(api).json()["id"]
    OutboxMessage.objects.filter(task="compliance.run_export").delete()  # as if sent to a worker that died
    started = run_in_transaction(lambda: _claim(export_id)).started_at
    with clock.frozen_at(started + dt.timedelta(hours=6)):
        purge_expired_exports.apply()
        assert api.get(f"{URL}/{export_id}").json()["status"] == "running"
    with clock.frozen_at(started + dt.timedelta(hours=6, seconds=1)):
        purge_expired_exports.apply()
    body = api.get(f"{URL}/{export_id}").json()
    assert (body["status"], body["error"]["code"]) == ("failed", "export_interrupted")
    assert AuditEvent.objects.filter(action="compliance.export_failed", object_id=export_id).count() == 1


def test_staff_session_downloads_past_the_second_factor_only(api, planted, staff_client, make_staff):
    from django.test import Client

    export = _succeeded(api)
    url = f"{URL}/{export.id}/file"
    assert staff_client("auditor").get(url).status_code == 200
    unverified = Client()
    unverified.force_login(make_staff("auditor"))
    assert unverified.get(url).status_code == 403
    assert _downloads() == 1


def test_admin_add_page_list_and_download_link(api, planted, staff_client):
    from tests.adminurls import admin_url

    client = staff_client("finance")
    page = client.get("/admin/compliance/complianceexport/add/")
    assert page.status_code == 200
    token = page.context["token"]
    response = client.post("/admin/compliance/complianceexport/add/", {
        "kind": "customers", "format": "csv", "from": DAY, "to": DAY, "include_pii": "on", "_token": token})
    assert response.status_code == 302, response.content[:2000]
    export = ComplianceExport.objects.get()
    assert (export.include_pii, export.actor_type, export.status) == (True, "user", "pending")
    run_due_locally()
    listing = client.get("/admin/compliance/complianceexport/")
    assert listing.status_code == 200
    assert "1 / 1 rows (100%)" in listing.content.decode()
    change = client.get(admin_url(export))
    assert f'href="{URL}/{export.id}/file"' in change.content.decode()
    assert client.get(f"{URL}/{export.id}/file").status_code == 200


def test_mcp_tool_starts_an_export_and_reads_it(make_key, planted):
    from tests.mcp.conftest import McpClient

    client = McpClient(make_key("compliance:write", role="auditor").raw_key)
    started = client.ok("export_compliance_data", {"kind": "payments", "format": "jsonl", "from": DAY, "to": DAY,
                                                   "idempotency_key": "mcp-exp-1"})
    assert (started["status"], started["kind"], started["include_pii"]) == ("pending", "payments", False)
    assert started["id"].startswith("exp_")
    error = client.error("export_compliance_data", {"kind": "payments", "format": "jsonl", "from": DAY, "to": DAY,
                                                    "include_pii": True, "idempotency_key": "mcp-exp-2"})
    assert (error["code"], error["details"]) == ("permission_denied",
                                                 {"required_permission": "compliance.export_personal_data"})
    assert ComplianceExport.objects.count() == 1
    run_due_locally()
    done = client.ok("get_compliance_export", {"export_id": started["id"]})
    assert (done["status"], done["progress"]) == ("succeeded", {"rows_written": 1, "rows_total": 1, "percent": 100})
    assert done["download_url"] == f"{URL}/{started['id']}/file"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_task_outside_a_transaction_commits_progress_between_chunks(roles, settings, actor):
    """As a worker runs it: no surrounding transaction, a server-side cursor read in chunks while each
    chunk's progress commits on the same connection."""
    from compliance.services import compliance_export_create

    settings.COMPLIANCE_EXPORT_CHUNK_SIZE = 2
    people = [_customer(f"p{i}@example.com", f"Person {i}", T0 + dt.timedelta(seconds=i)) for i in range(5)]
    export = compliance_export_create(actor=actor, kind="customers", format="csv", period_from=T0.date(),
                                      period_to=T0.date())
    assert run_due_locally() == 1
    export.refresh_from_db()
    assert (export.status, export.rows_written, export.rows_total) == ("succeeded", 5, 5)
    lines = export_dir_path(export).read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [p.id for p in people]
    assert lines[1].split(",")[3:5] == ["p***@e***.com", "P*** 0***"]
