"""The PCI checks of the audit trail: the chain intact (10.3.2), retention configured and running (10.5.1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django_celery_beat.models import PeriodicTask

from compliance import pci
from compliance.models import AuditChainCheck
from core import clock
from core.models import AuditEvent

from . import chainkit

pytestmark = pytest.mark.django_db


def check(check_id):
    return {c["id"]: c for c in pci.run_assessment()["checks"]}[check_id]


def test_chain_check_passes_with_nothing_recorded_yet():
    result = check("audit_chain_intact")
    assert result == {
        "id": "audit_chain_intact", "requirement": "10.3.2",
        "title": "The audit trail is sealed, its hash chain intact and verified nightly", "status": "passed",
        "evidence": "0 sealed event(s) recomputed now: intact; 0 awaiting the sealer; "
                    "no nightly verification recorded yet."}


def test_chain_check_fails_when_the_last_nightly_verification_found_a_break():
    at = dt.datetime(2026, 11, 1, 2, 45, tzinfo=dt.UTC)
    AuditChainCheck.objects.create(started_at=at, finished_at=at, intact=False, count=7,
                                   first_broken_event_id="aud_broken", reason="altered")
    result = check("audit_chain_intact")
    assert result["status"] == "failed"
    assert result["evidence"] == (
        "0 sealed event(s) recomputed now: intact; 0 awaiting the sealer; last nightly verification "
        "2026-11-01T02:45:00Z: BROKEN over 7 event(s). Failed: the last nightly verification found it broken "
        "(altered at aud_broken).")


def test_chain_check_fails_when_events_stay_unsealed_past_fifteen_minutes():
    event = chainkit.record(0)
    with clock.frozen_at(event.occurred_at + dt.timedelta(minutes=15)):
        assert check("audit_chain_intact")["status"] == "passed"
    with clock.frozen_at(event.occurred_at + dt.timedelta(minutes=16)):
        result = check("audit_chain_intact")
    assert result["status"] == "failed"
    assert result["evidence"] == (
        "0 sealed event(s) recomputed now: intact; 1 awaiting the sealer; oldest unsealed event 16 min old; "
        "no nightly verification recorded yet. Failed: events stay unsealed longer than 15 min (is the "
        "seal_audit schedule running?).")


@pytest.mark.django_db(transaction=True)
def test_chain_check_fails_when_a_sealed_event_was_altered():
    events = [chainkit.record(minute) for minute in range(3)]
    chainkit.seal_all()
    assert check("audit_chain_intact")["evidence"].startswith("3 sealed event(s) recomputed now: intact;")
    with chainkit.behind_the_trigger():
        chainkit.raw("UPDATE core_auditevent SET outcome = 'failure' WHERE id = %s", [events[1].pk])
    with clock.frozen_at(events[2].occurred_at):
        result = check("audit_chain_intact")
    assert result["status"] == "failed"
    assert result["evidence"].endswith(f"Failed: the chain is broken now: altered at {events[1].pk}.")


def test_retention_check_passes_with_the_defaults_and_the_schedules_of_the_migration():
    result = check("audit_retention")
    assert result["status"] == "passed"
    assert result["evidence"] == (
        "AUDIT_RETENTION_DAYS=365 (required: at least 365), AUDIT_ARCHIVE_AFTER_DAYS=90 (required: at least 90); "
        "enabled schedules: compliance.archive_audit, compliance.seal_audit, compliance.verify_audit_chain.")


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("AUDIT_RETENTION_DAYS", 364, "AUDIT_RETENTION_DAYS=364 is under 365"),
    ("AUDIT_ARCHIVE_AFTER_DAYS", 30, "AUDIT_ARCHIVE_AFTER_DAYS=30 is under 90"),
])
def test_retention_check_fails_when_a_setting_is_too_short(settings, name, value, problem):
    setattr(settings, name, value)
    result = check("audit_retention")
    assert result["status"] == "failed"
    assert result["evidence"].endswith(f"Failed: {problem}.")


def test_retention_check_fails_when_a_schedule_is_disabled():
    assert PeriodicTask.objects.filter(task="compliance.archive_audit").update(enabled=False) == 1
    result = check("audit_retention")
    assert result["status"] == "failed"
    assert result["evidence"].endswith(
        "enabled schedules: compliance.seal_audit, compliance.verify_audit_chain. "
        "Failed: no enabled schedule for compliance.archive_audit.")


def test_retention_check_fails_when_old_events_were_never_archived():
    event = chainkit.record(0)
    with clock.frozen_at(event.occurred_at + dt.timedelta(days=92)):
        assert check("audit_retention")["status"] == "passed"
    with clock.frozen_at(event.occurred_at + dt.timedelta(days=92, seconds=1)):
        result = check("audit_retention")
    assert result["status"] == "failed"
    assert result["evidence"].endswith(
        "Failed: 1 event(s) older than 90 days + 2 are still in the table (is the archive_audit schedule "
        "running?).")
    assert AuditEvent.objects.count() == 1
