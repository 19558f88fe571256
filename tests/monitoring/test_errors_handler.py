"""The handler writes outside the failing work's transaction and survives a database failure."""

import logging

import pytest
from django.db import connection, transaction
from django.test import Client

from core.context import Actor
from monitoring import errorlog
from monitoring.models import ErrorGroup
from tests.concurrency import failures, run_threads

from .errors_support import _errorlog_handler, configured_handler  # noqa: F401

pytestmark = pytest.mark.urls("tests.monitoring.errors_urls")
log = logging.getLogger("tests.monitoring.handler")


def test_the_handler_is_installed_first_on_the_root_logger(settings):
    assert settings.LOGGING["root"]["handlers"][0] == "errorlog"
    assert settings.LOGGING["handlers"]["errorlog"] == {"()": "monitoring.errorlog_handler.ErrorLogHandler",
                                                        "level": "ERROR"}
    assert configured_handler().level == logging.ERROR


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_request_keeps_its_error_record():
    client = Client(raise_request_exception=False)
    assert client.get("/test-rolled-back?n=7", HTTP_X_REQUEST_ID="req-rolled-back-1").status_code == 500
    assert errorlog.pending_count() == 0
    groups = {g.title: (g.count, g.kind, g.sample_request_id) for g in ErrorGroup.objects.all()}
    assert groups == {"order 7 could not be settled": (1, "message", "req-rolled-back-1"),
                      "LookupError: settlement failed": (1, "exception", "req-rolled-back-1")}


@pytest.mark.django_db(transaction=True)
def test_an_error_logged_in_a_transaction_waits_for_its_end():
    with pytest.raises(LookupError):
        with transaction.atomic():
            log.error("batch %s failed", 1)
            assert ErrorGroup.objects.count() == 0  # not in the transaction that is about to roll back
            raise LookupError("x")
    assert (errorlog.pending_count(), ErrorGroup.objects.count()) == (1, 0)
    errorlog.on_boundary()  # request_finished / task_postrun
    assert (errorlog.pending_count(), list(ErrorGroup.objects.values_list("title", "count"))) == (
        0, [("batch 1 failed", 1)])
    with transaction.atomic():
        log.error("batch %s failed", 2)
    # written when that transaction committed
    assert (errorlog.pending_count(), list(ErrorGroup.objects.values_list("count", flat=True))) == (0, [2])


@pytest.mark.django_db(transaction=True)
def test_a_committed_request_writes_its_error_on_commit():
    client = Client(raise_request_exception=False)
    assert client.get("/test-committed?n=3").status_code == 200
    assert list(ErrorGroup.objects.values_list("title", "count")) == [("reminder 3 not sent", 1)]


@pytest.mark.django_db(transaction=True)
def test_the_handler_survives_a_database_failure_without_recursion(caplog):
    # The handler also at WARNING: its own failure warning would come back to it without the guard.
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, errorlog.ErrorLogHandler)
    handler.setLevel(logging.WARNING)
    table = ErrorGroup._meta.db_table
    dropped = errorlog._state.dropped
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        with caplog.at_level(logging.WARNING, logger="monitoring.errorlog"):
            log.error("while the error log's table is gone")
            try:
                raise ValueError("also gone")
            except ValueError:
                log.exception("failed")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
        handler.setLevel(logging.ERROR)
    assert errorlog._state.dropped == dropped + 2
    assert errorlog._state.busy is False
    warnings = [r for r in caplog.records if r.name == "monitoring.errorlog"]
    assert [r.getMessage() for r in warnings] == ["error log write failed; occurrence dropped"] * 2
    assert ErrorGroup.objects.count() == 0
    log.error("after the table is back")
    assert list(ErrorGroup.objects.values_list("title", flat=True)) == ["after the table is back"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_occurrences_all_count():
    occurrence = errorlog.message_occurrence("queue 1 stalled", source="tests")

    def record(i):
        return errorlog.error_occurrence_record(actor=Actor.system("tests"), occurrence=occurrence).pk

    outcomes = run_threads(8, record)
    assert failures(outcomes) == []
    assert len(set(outcomes)) == 1
    assert list(ErrorGroup.objects.values_list("count", flat=True)) == [8]
