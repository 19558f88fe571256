"""A batch writes exactly the rows the same requests write one by one (`payment_create` is the
batch path with a list of one: this checks that batching many changes nothing)."""

import dataclasses
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from core.errors import DomainError
from core.models import AuditEvent
from payments.models import Payment, PaymentAttempt, ProviderStat, RoutingRule
from payments.models_sandbox import SandboxCharge
from payments.providers import get_provider
from payments.providers.base import AuthRequest
from payments.providers.sandbox import SandboxProvider
from payments.services import ChargeRequest, payment_create, payment_create_batch, payment_create_from_request
from tests.factories import CustomerFactory
from wallets.models import JournalEntry, Posting
from wallets.selectors.verify import ledger_verify

pytestmark = pytest.mark.django_db
MOMENT = dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC)


def _single(actor, req):
    """The oracle: `payment_create` itself, given every field of the request by name, the DomainError
    it raises in its place (written here, not through the code under test)."""
    try:
        return payment_create(actor=actor, **dataclasses.asdict(req))
    except DomainError as exc:
        return exc


def _norm(value, names):
    if isinstance(value, str):
        for real, name in names.items():
            value = value.replace(real, name)
        return value
    if isinstance(value, dict):
        return {_norm(k, names): _norm(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v, names) for v in value]
    return value


def _fields(obj, skip=("id",)):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in skip}


def _stats():
    return {(s.provider, s.currency): (s.attempts, s.successes) for s in ProviderStat.objects.all()}


def _snapshot(results):
    """Every row either path wrote for these results, with ids replaced by positions."""
    names, out = {}, []
    for i, result in enumerate(results):
        if isinstance(result, DomainError):
            out.append(("error", type(result).__name__, result.code, result.status))
            continue
        payment = Payment.objects.get(pk=result.pk)
        assert (payment.status, payment.amount_captured) == (result.status, result.amount_captured)
        names[payment.id] = f"<pay{i}>"
        attempts = list(payment.attempts.order_by("sequence"))
        for attempt in attempts:
            names[attempt.id] = f"<att{i}.{attempt.sequence}>"
        entries = list(JournalEntry.objects.filter(metadata__payment_id=payment.id).order_by("created", "id"))
        for n, entry in enumerate(entries):
            names[entry.id] = f"<je{i}.{n}>"
        row = {
            "payment": _fields(payment),
            "attempts": [{**_fields(a), "latency_ms": a.latency_ms is not None} for a in attempts],
            "entries": [(_fields(e), [(p.account_id, p.amount, p.currency, p.kind)
                                      for p in Posting.objects.filter(entry=e).order_by("id")]) for e in entries],
            # Under a frozen clock the events of one payment share a time: compared as a sorted list.
            "audit": sorted((a.action, a.actor_type, a.actor_id, a.object_type, sorted(a.details.items()))
                            for a in AuditEvent.objects.filter(object_id=payment.id)),
            "sandbox": [_fields(c, skip=("reference",)) for c in SandboxCharge.objects.filter(
                reference__in=[a.provider_reference for a in attempts if a.provider_reference])],
        }
        out.append(row)
    return _norm(out, names)


def _compare(actor, requests):
    with clock.frozen_at(MOMENT):
        stats_before = _stats()
        singles = [_single(actor, req) for req in requests]
        stats_middle = _stats()
        batch = payment_create_batch(actor=actor, requests=requests)
        stats_after = _stats()
    assert _snapshot(batch) == _snapshot(singles)
    delta = {k: (v[0] - stats_before.get(k, (0, 0))[0], v[1] - stats_before.get(k, (0, 0))[1])
             for k, v in stats_middle.items()}
    assert {k: (v[0] - stats_middle.get(k, (0, 0))[0], v[1] - stats_middle.get(k, (0, 0))[1])
            for k, v in stats_after.items()} == delta
    assert ledger_verify().ok
    return singles, batch


def test_batch_writes_the_rows_of_the_per_payment_path(actor, customer, one_sandbox, fees):
    blocked = CustomerFactory(status="blocked")
    requests = [
        ChargeRequest(customer.id, 1500, "USD", "card", "tok_visa", "Invoice A", {"n": "1"}),
        ChargeRequest(customer.id, 2599, "usd", "card", "tok_mastercard", "Invoice B", {"n": "2"}),
        ChargeRequest(customer.id, 700, "USD", "card", "tok_decline_generic", "", {"n": "3"}),
        ChargeRequest(customer.id, 700, "USD", "card", "tok_decline_expired", "", {}),
        ChargeRequest(customer.id, 900, "USD", "card", "tok_timeout", "", {}),
        ChargeRequest(customer.id, 1200, "USD", "bank_transfer", "tok_bank_transfer", "", {}),
        ChargeRequest(blocked.id, 1500, "USD", "card", "tok_visa", "", {}),
        ChargeRequest(customer.id, 0, "USD", "card", "tok_visa", "", {}),
        ChargeRequest("cus_missing", 1500, "USD", "card", "tok_visa", "", {}),
        ChargeRequest(customer.id, 1500, "USD", "wallet", "wal_missing", "", {}),
        ChargeRequest(customer.id, 1500, "USD", "card", "4242424242424242", "", {}),
    ]
    singles, batch = _compare(actor, requests)
    statuses = [r.status if isinstance(r, Payment) else r.code for r in batch]
    assert statuses == ["succeeded", "succeeded", "failed", "failed", "unknown", "processing", "failed",
                        "amount_not_positive", "not_found", "not_found", statuses[10]]
    assert isinstance(batch[10], DomainError) and statuses[10] == singles[10].code
    # The fee schedule applies in both: 2.9% + 30 of 15.00 is 74 (half-up), of 25.99 is 105.
    assert [batch[0].fee_amount, batch[1].fee_amount] == [74, 105]


def test_batch_fails_over_like_the_per_payment_path(actor, customer, settings):
    settings.PAYMENTS_PROVIDERS = {"down": {"type": "sandbox", "unreachable_rate": 1.0},
                                   "flaky": {"type": "sandbox", "approval_rate": 0.0},
                                   "good": {"type": "sandbox"}}
    now = clock.now()
    RoutingRule.objects.create(name="order", allowed_providers=["down", "flaky", "good"], learning=False,
                               created=now, updated=now)
    requests = [ChargeRequest(customer.id, 1000 + n, "USD", "card", "tok_visa", "", {"n": str(n)}) for n in range(3)]
    _, batch = _compare(actor, requests)
    assert [r.status for r in batch] == ["succeeded"] * 3
    attempts = PaymentAttempt.objects.filter(payment=batch[0]).order_by("sequence")
    assert [(a.provider, a.status, a.decline_code) for a in attempts] == [
        ("down", "unreachable", "provider_unavailable"), ("flaky", "declined", "processing_error"),
        ("good", "captured", "")]


def test_create_from_request_is_payment_create_with_the_request_fields(actor, customer, one_sandbox, fees):
    requests = [ChargeRequest(customer.id, 1500, "usd", "card", "tok_visa", "Invoice A", {"n": "1"}),
                ChargeRequest(customer.id, 700, "USD", "card", "tok_decline_expired", "Invoice B", {"n": "2"}),
                ChargeRequest(customer.id, 0, "USD", "card", "tok_visa", "", {})]
    with clock.frozen_at(MOMENT):
        singles = [_single(actor, req) for req in requests]
        wrapped = [payment_create_from_request(actor=actor, request=req) for req in requests]
    assert _snapshot(wrapped) == _snapshot(singles)
    assert [(p.status, p.currency, p.description, p.metadata) for p in wrapped[:2]] == [
        ("succeeded", "USD", "Invoice A", {"n": "1"}), ("failed", "USD", "Invoice B", {"n": "2"})]
    assert isinstance(wrapped[2], DomainError) and wrapped[2].code == "amount_not_positive"


def test_batch_of_nothing_writes_nothing(actor):
    assert payment_create_batch(actor=actor, requests=[]) == []
    assert Payment.objects.count() == 0


TOKENS = ["tok_visa", "tok_decline_generic", "tok_timeout", "tok_bank_transfer", "tok_nonsense"]


def _requests(tag, tokens=TOKENS):
    return [AuthRequest(attempt_id=f"att_{tag}{n}", payment_id=f"pay_{tag}{n}", amount=100 + n, currency="USD",
                        method="bank_transfer" if t == "tok_bank_transfer" else "card", payment_method=t, capture=True)
            for n, t in enumerate(tokens)]


def _answer(value, tag):
    if isinstance(value, Exception):
        return type(value).__name__
    return (value.status, value.reference.replace(tag, "#"), value.decline_code, value.amount_captured, value.card)


def test_sandbox_answers_a_batch_as_one_call_each_with_one_insert(settings):
    settings.PAYMENTS_PROVIDERS = {"one": {"type": "sandbox", "seed": 7, "approval_rate": 0.5, "timeout_rate": 0.2},
                                   "many": {"type": "sandbox", "seed": 7, "approval_rate": 0.5, "timeout_rate": 0.2}}
    singles = []
    for request in _requests("QQ", TOKENS * 4):
        try:
            singles.append(get_provider("one").authorise(request))
        except Exception as exc:  # noqa: BLE001 - compared as the batch's in-place exception
            singles.append(exc)
    with CaptureQueriesContext(connection) as queries:
        batch = get_provider("many").authorise_many(_requests("ZZ", TOKENS * 4))
    assert len(queries) == 1
    assert [_answer(v, "ZZ") for v in batch] == [_answer(v, "QQ") for v in singles]
    assert {"ProviderTimeout", "ProviderResult"} <= {type(v).__name__ for v in batch}

    def recorded(provider, tag):
        return sorted((c.reference.replace(tag, "#"), c.status, c.amount_captured, c.decline_code)
                      for c in SandboxCharge.objects.filter(provider=provider))

    assert recorded("many", "ZZ") == recorded("one", "QQ")
    assert len(recorded("many", "ZZ")) > 0


def test_a_provider_call_failing_as_a_whole_leaves_every_payment_unknown(actor, customer, one_sandbox,
                                                                          monkeypatch, caplog):
    def broken(self, requests):
        raise RuntimeError("connection reset mid-batch")

    monkeypatch.setattr(SandboxProvider, "authorise_many", broken)
    requests = [ChargeRequest(customer.id, 1000 + n, "USD", "card", "tok_visa", "", {"n": str(n)}) for n in range(3)]
    batch = payment_create_batch(actor=actor, requests=requests)
    assert [p.status for p in batch] == ["unknown"] * 3
    assert list(PaymentAttempt.objects.filter(payment__in=batch).values_list("status", flat=True)) == ["unknown"] * 3
    assert JournalEntry.objects.count() == 0
    assert sum("provider call failed" in r.getMessage() for r in caplog.records) == 3
