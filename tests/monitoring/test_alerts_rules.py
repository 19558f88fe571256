"""Every rule kind fires, folds its duplicates and resolves itself under a controlled clock."""

import datetime as dt

import pytest
from django.core import mail

from compliance.models import AuditChainCheck
from core import clock
from core.models import AuditEvent, Event, OutboxMessage
from monitoring.alerts import Finding, register_source
from monitoring.alerts.rules import evaluate_all
from monitoring.models import Alert, AlertRule
from tests.monitoring.alertkit import STAFF, at, metric, minute, rule

pytestmark = pytest.mark.django_db
ROUTE = "POST /api/v1/transfers"


def run(moment):
    with clock.frozen_at(moment):
        return evaluate_all()


def test_error_rate_fires_folds_and_resolves_with_one_mail_each_way():
    r = rule("error_rate", params={"threshold": 0.05, "min_requests": 20})
    rule("error_rate", name="other route only", route="GET /api/v1/wallets*")
    metric(ROUTE, minute(at(-2)), [40.0] * 100, errors=12)
    metric("GET /api/v1/wallets", minute(at(-2)), [40.0] * 100, errors=1)

    assert run(at()) == {"rules": 2, "created": 1, "folded": 0, "resolved": 0, "failed": 0, "notified": 1}
    alert = Alert.objects.get()
    assert (alert.source, alert.dedup_key, alert.status, alert.occurrence_count) == (
        "error_rate", f"rule:{r.pk}:{ROUTE}", "open", 1)
    assert alert.title == "Error rate 12.0% on POST /api/v1/transfers"
    assert alert.reason == ("12 of 100 requests to POST /api/v1/transfers failed with a server error in the 5 min to "
                            "2026-03-10T12:00:00Z: 12.0%, above the 5.0% threshold.")
    # abnormality 25 x (2.4 - 1) = 35, volume 25 x log10(13) / 3 = 9, no amount: 44, medium.
    assert (alert.severity, alert.rank_score) == ("medium", 44)
    assert alert.rank_reason == (
        "score 44/100 = abnormality 35 (error rate 12.0% is 2.4x the 5.0% threshold) + volume 9 (12 failed "
        "requests) + amount 0 (no amount affected); 44 is medium (>=75 critical, >=50 high, >=25 medium).")
    assert alert.impact == {"volume": 12, "volume_label": "failed requests", "amounts": {}}
    assert [m.subject for m in mail.outbox] == ["[MEDIUM] Error rate 12.0% on POST /api/v1/transfers"]
    assert mail.outbox[0].to == ["ops@example.com"]

    assert run(at(1)) == {"rules": 2, "created": 0, "folded": 1, "resolved": 0, "failed": 0, "notified": 0}
    alert.refresh_from_db()
    assert (alert.occurrence_count, alert.first_seen, alert.last_seen) == (2, at(), at(1))
    assert len(mail.outbox) == 1 and Event.objects.filter(type="alert.created").count() == 1

    assert run(at(10)) == {"rules": 2, "created": 0, "folded": 0, "resolved": 1, "failed": 0, "notified": 1}
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_at, alert.resolved_by) == (
        "resolved", at(10), "task:monitoring.evaluate_alert_rules")
    assert [n.text for n in alert.notes.all()] == [
        "Resolved automatically: the error_rate condition of rule 'error_rate' no longer holds at "
        "2026-03-10T12:10:30Z (last seen 2026-03-10T12:01:30Z, 2 occurrence(s))."]
    assert [m.subject for m in mail.outbox][1:] == ["[RESOLVED] Error rate 12.0% on POST /api/v1/transfers"]
    assert Event.objects.filter(type="alert.resolved", object_id=alert.pk).count() == 1
    # The routine fold of the minute job is not in the audit trail; the creation and resolution are.
    actions = AuditEvent.objects.filter(object_id=alert.pk).order_by("occurred_at").values_list("action", flat=True)
    assert list(actions) == ["alert.created", "alert.resolved"]


def test_error_rate_needs_min_requests_and_the_route_filter():
    rule("error_rate", params={"threshold": 0.05, "min_requests": 200})
    rule("error_rate", name="wallets", route="GET /api/v1/wallets*", params={"min_requests": 20})
    metric(ROUTE, minute(at(-2)), [40.0] * 100, errors=50)
    assert run(at())["created"] == 0 and not Alert.objects.exists()


def test_latency_p95_fires_and_resolves():
    r = rule("latency_p95", params={"threshold_ms": 1000, "min_requests": 20}, route=ROUTE)
    metric(ROUTE, minute(at(-1)), [1500.0] * 30 + [100.0] * 70, process="a:1")
    metric(ROUTE, minute(at(-1)), [2000.0] * 10, process="b:2")
    run(at())
    alert = Alert.objects.get()
    assert alert.dedup_key == f"rule:{r.pk}:{ROUTE}" and alert.source == "latency_p95"
    p95 = alert.details["p95_ms"]
    assert 1500 <= p95 <= 2000 * 1.2
    assert alert.details["slower"] == 40 and alert.details["requests"] == 110
    assert alert.title == f"p95 latency {p95:.0f} ms on {ROUTE}"
    run(at(1))
    alert.refresh_from_db()
    assert alert.occurrence_count == 2
    run(at(7))
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_outbox_backlog_fires_on_count_and_resolves_when_sent():
    rule("outbox_backlog", params={"max_pending": 2, "max_age_seconds": 3600})
    for _ in range(3):
        OutboxMessage.objects.create(task="x.y", created=at(-5), next_attempt_at=at(-5))
    OutboxMessage.objects.create(task="later", created=at(), next_attempt_at=at(10))  # not due: not a backlog
    run(at())
    alert = Alert.objects.get()
    assert alert.title == "Outbox backlog: 3 tasks waiting, oldest 5 min"
    assert alert.reason == ("3 outbox tasks are due and not sent (limit 2); the oldest has waited 5 min "
                            "(limit 1 h 0 min). Is the relay or the broker down?")
    assert alert.details == {"pending": 3, "oldest_age_seconds": 300.0, "max_attempts": 0, "by_task": {"x.y": 3}}
    run(at(1))
    alert.refresh_from_db()
    # The alert's own notification task is in the outbox too (the relay has not run in this test).
    assert alert.occurrence_count == 2 and alert.title == "Outbox backlog: 4 tasks waiting, oldest 6 min"
    OutboxMessage.objects.exclude(task="later").update(sent_at=at(2))
    run(at(2))
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_audit_chain_failure_is_critical_and_resolves_on_the_next_intact_check():
    rule("audit_chain")
    AuditChainCheck.objects.create(started_at=at(-60), finished_at=at(-59), intact=True, count=10)
    run(at())
    assert not Alert.objects.exists()
    AuditChainCheck.objects.create(started_at=at(-30), finished_at=at(-29), intact=False, count=12,
                                   first_broken_event_id="aud_x", reason="altered")
    run(at())
    alert = Alert.objects.get()
    assert (alert.severity, alert.title) == ("critical", "Audit chain verification failed")
    assert alert.reason == ("The audit-chain check at 2026-03-10T11:30:30Z found the chain broken (altered) at event "
                            "aud_x after checking 12 sealed events.")
    assert "raised to critical: this condition is never less" in alert.rank_reason
    run(at(1))
    AuditChainCheck.objects.create(started_at=at(2), finished_at=at(3), intact=True, count=12)
    run(at(3))
    alert.refresh_from_db()
    assert (alert.status, alert.occurrence_count) == ("resolved", 2)


def test_disk_space_fires_below_the_threshold_and_resolves_when_the_rule_says_it_is_enough():
    r = rule("disk_space", params={"path": "/", "min_free_percent": 100})
    run(at())
    alert = Alert.objects.get()
    assert alert.dedup_key == f"rule:{r.pk}:/" and alert.severity in ("medium", "high", "critical")
    assert alert.details["min_free_percent"] == 100.0
    r.params = {"path": "/", "min_free_percent": 0}
    from monitoring.alerts.services import alert_rule_save

    alert_rule_save(actor=STAFF, rule=r)
    run(at(1))
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_webhook_endpoint_disabled_source_fires_and_resolves_when_enabled():
    from webhooks.models import WebhookEndpoint

    rule("source", params={"source": "webhook_endpoint_disabled"}, floor="high")
    endpoint = WebhookEndpoint.objects.create(url="https://example.com/hook", enabled=False, secret="s",
                                              disabled_reason="Failing since 2026-03-07 (3 days)",
                                              created=at(-100), updated=at(-10))
    WebhookEndpoint.objects.create(url="https://example.com/off", enabled=False, secret="s", created=at(-100),
                                   updated=at(-10))  # switched off by staff: not an incident
    run(at())
    alert = Alert.objects.get()
    assert (alert.source, alert.severity, alert.title) == (
        "webhook_endpoint_disabled", "high", f"Webhook endpoint {endpoint.pk} disabled")
    assert alert.reason == ("https://example.com/hook was disabled at 2026-03-10T11:50:30Z: Failing since 2026-03-07 "
                            "(3 days). 0 deliveries failed, 0 wait; re-enable it to resume (and replay what it "
                            "missed).")
    assert "raised to the rule's floor high" in alert.rank_reason
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True, disabled_reason="")
    run(at(1))
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_a_failing_rule_keeps_its_alerts_and_says_why():
    calls = []

    def flaky(now):
        calls.append(now)
        if len(calls) > 1:
            raise RuntimeError("source down")
        return [Finding(subject="x", title="flaky", reason="it fired")]

    register_source("test_flaky", flaky)
    r = rule("source", params={"source": "test_flaky"})
    run(at())
    assert run(at(1))["failed"] == 1
    r.refresh_from_db()
    assert (r.last_error, r.last_evaluated_at) == ("RuntimeError: source down", at(1))
    assert Alert.objects.get().status == "open"


def test_rule_params_are_validated_per_kind_and_a_refusal_saves_nothing():
    from core.errors import ValidationFailed

    before = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        rule("error_rate", params={"threshold": 0, "nope": 1}, recipients=["not-an-address"])
    assert refused.value.details == {"fields": {
        "params": ["Unknown parameter 'nope' for error_rate (known: threshold, min_requests).",
                   "threshold: between 0.0001 and 1.0."],
        "recipients": ["Not e-mail addresses: not-an-address."]}}
    with pytest.raises(ValidationFailed) as unknown:
        rule("source", params={"source": "nothing"})
    assert unknown.value.details["fields"]["params"][0].startswith("source: one of ")
    assert AlertRule.objects.count() == 0 and AuditEvent.objects.count() == before
    saved = rule("latency_p95", params={"threshold_ms": 800})
    assert saved.params == {"threshold_ms": 800.0, "min_requests": 20}
    assert AuditEvent.objects.filter(action="alert_rule.created", object_id=str(saved.pk)).count() == 1


def test_window_is_whole_minutes_before_now():
    rule("error_rate", params={"threshold": 0.05, "min_requests": 20}, window=1)
    metric(ROUTE, minute(at()), [40.0] * 100, errors=50)  # the current minute: not flushed, not counted
    run(at())
    assert not Alert.objects.exists()
    run(at(1))
    assert Alert.objects.count() == 1
    assert minute(at(1)) - dt.timedelta(minutes=1) == minute(at())


def test_a_failed_ledger_verification_raises_one_critical_alert(settings):
    from wallets.selectors.verify import LedgerReport
    from wallets.signals import ledger_verification_failed

    settings.ALERTS_DEFAULT_RECIPIENTS = ["finance@example.com"]
    problems = [f"entry txn_{i} does not balance in USD: sums to 7" for i in range(4)]
    for _ in range(2):
        ledger_verification_failed.send(sender=None, problems=problems,
                                        report=LedgerReport(entries=50, problems=problems))
    alert = Alert.objects.get()
    assert (alert.source, alert.dedup_key, alert.severity, alert.occurrence_count) == (
        "ledger_verification", "ledger_verification", "critical", 2)
    assert alert.reason == ("The ledger verification found 4 broken invariant(s) over 50 journal entries: "
                            "entry txn_0 does not balance in USD: sums to 7; entry txn_1 does not balance in USD: "
                            "sums to 7; entry txn_2 does not balance in USD: sums to 7; ...")
    assert [(m.subject, m.to) for m in mail.outbox] == [("[CRITICAL] Ledger verification failed",
                                                         ["finance@example.com"])]


def test_the_next_passing_ledger_verification_resolves_its_alert_once(settings):
    from wallets.selectors.verify import LedgerReport
    from wallets.signals import ledger_verification_failed, ledger_verified

    problems = ["entry txn_1 does not balance in USD: sums to 7"]
    ledger_verification_failed.send(sender=None, problems=problems, report=LedgerReport(entries=50, problems=problems))
    now = clock.now()
    ledger_verified.send(sender=None, report=LedgerReport(entries=50, problems=problems), started_at=now,
                         finished_at=now, source="task")
    assert Alert.objects.get().status == Alert.Status.OPEN  # a failing run never resolves it
    for _ in range(2):
        ledger_verified.send(sender=None, report=LedgerReport(entries=51), started_at=now, finished_at=now,
                             source="command")
    alert = Alert.objects.get()
    assert (alert.status, alert.resolved_by) == (Alert.Status.RESOLVED, "task:wallets.verify_ledger")
    assert [n.text for n in alert.notes.order_by("created")] == [
        "Resolved automatically: the ledger verification passed (51 journal entries, no broken invariant)."]


def test_celery_backlog_in_the_broker_fires_and_resolves_when_the_workers_catch_up(settings, tmp_path):
    # The embedded broker keeps each waiting task as a file (what `make run` uses without Redis).
    settings.CELERY_BROKER_URL = "filesystem://localhost"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    rule("outbox_backlog", params={"max_pending": 100, "max_age_seconds": 3600, "max_queued": 2})
    for n in range(3):
        (tmp_path / f"task-{n}.msg").write_text("{}")
    run(at())
    alert = Alert.objects.get()
    assert (alert.title, alert.details) == ("Celery backlog: 3 tasks waiting in the broker",
                                            {"queued": 3, "transport": "filesystem"})
    assert alert.reason == ("3 tasks wait in the filesystem broker's default queue (limit 2): the workers are not "
                            "keeping up, or none is running.")
    (tmp_path / "task-0.msg").unlink()
    run(at(1))
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.occurrence_count == 1


def test_ages_read_as_a_person_reads_them():
    from core.clock import duration_text

    assert [duration_text(s) for s in (45, 119.4, 120, 3599, 3600, 18_180, 86_400, 23_241_653)] == [
        "45 s", "119 s", "2 min", "59 min", "1 h 0 min", "5 h 3 min", "1 d 0 h", "269 d 0 h"]
