"""Grouping: the same exception from two requests is one group counted twice; another line or type
is another group; a resolved group reopens; messages group by their template."""

import datetime as dt
import logging

import pytest
from django.test import Client

from core import clock
from monitoring import errorlog
from monitoring.errorlog import capture_exception, error_group_resolve
from monitoring.models import ErrorGroup

from .errors_support import _errorlog_handler  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.monitoring.errors_urls")]
T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_the_same_exception_from_two_api_requests_is_one_group_counted_twice(api):
    with clock.frozen_at(T0):
        first = api.get("/api/v1/test-crash?n=1", HTTP_X_REQUEST_ID="req-first-0001")
    with clock.frozen_at(T0 + dt.timedelta(minutes=5)):
        second = api.get("/api/v1/test-crash?n=2", HTTP_X_REQUEST_ID="req-second-0002")
    assert first.status_code == second.status_code == 500
    assert second.json()["error"]["details"] == {"request_id": "req-second-0002"}
    group = ErrorGroup.objects.get()
    assert (group.count, group.kind, group.level, group.exception_type) == (2, "exception", "error", "ValueError")
    assert group.title == "ValueError: crash number 1"
    assert group.culprit == "tests.monitoring.errors_urls in crash"
    assert group.source == "core.request"
    assert (group.first_seen, group.last_seen) == (T0, T0 + dt.timedelta(minutes=5))
    assert (group.sample_request_id, group.sample_route) == ("req-second-0002", "GET /api/v1/test-crash")
    assert (group.sample_message, group.sample_details) == ("crash number 2", {"log_message": "unhandled error"})
    assert group.sample_traceback.startswith("Traceback (most recent call last):")
    assert group.sample_traceback.rstrip().endswith("ValueError: crash number 2")
    assert group.grouping.splitlines() == [
        "ValueError",
        "tests/monitoring/errors_urls.py:crash:raise ValueError(f\"crash number {request.GET.get('n', '0')}\")"]
    assert group.resolved is False


def test_a_drf_view_crash_is_grouped_with_its_route(api):
    for n in (1, 2):
        assert api.get(f"/api/v1/test-drf-crash?n={n}").status_code == 500
    group = ErrorGroup.objects.get()
    assert (group.count, group.exception_type, group.source) == (2, "RuntimeError", "core.api")
    assert group.sample_route == "GET /api/v1/test-drf-crash"
    assert group.culprit == "tests.monitoring.errors_urls in get"


def test_a_page_crash_is_recorded_once_per_request():
    # got_request_exception records it with the request; django.request then logs the same exception.
    client = Client(raise_request_exception=False)
    for n in (1, 2):
        assert client.get(f"/test-crash?n={n}", HTTP_X_REQUEST_ID=f"req-page-000{n}").status_code == 500
    group = ErrorGroup.objects.get()
    assert (group.count, group.source, group.sample_route) == (2, "", "GET /test-crash")
    assert group.sample_request_id == "req-page-0002"


def _raise_here():
    raise ValueError("one")


def _raise_there():
    raise ValueError("one")


def _raise_type():
    raise TypeError("one")


def _capture(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        capture_exception(exc)


def test_another_line_or_another_type_is_another_group():
    _capture(_raise_here)
    _capture(_raise_here)
    _capture(_raise_there)
    _capture(_raise_type)
    rows = {(g.culprit, g.exception_type): g.count for g in ErrorGroup.objects.all()}
    assert rows == {("tests.monitoring.test_errors_grouping in _raise_here", "ValueError"): 2,
                    ("tests.monitoring.test_errors_grouping in _raise_there", "ValueError"): 1,
                    ("tests.monitoring.test_errors_grouping in _raise_type", "TypeError"): 1}


def test_an_exception_is_recorded_once_however_often_it_is_logged():
    try:
        _raise_here()
    except ValueError as exc:
        capture_exception(exc)
        logging.getLogger("tests.twice").error("failed", exc_info=exc)
        logging.getLogger("tests.twice").exception("failed again")
    assert list(ErrorGroup.objects.values_list("count", flat=True)) == [1]


def test_a_resolved_group_reopens_on_its_next_occurrence(actor):
    with clock.frozen_at(T0):
        _capture(_raise_here)
    group = ErrorGroup.objects.get()
    with clock.frozen_at(T0 + dt.timedelta(hours=1)):
        resolved = error_group_resolve(actor=actor, error_id=group.pk)
    assert (resolved.resolved, resolved.resolved_at, resolved.resolved_by) == (True, T0 + dt.timedelta(hours=1),
                                                                               actor.label)
    with clock.frozen_at(T0 + dt.timedelta(hours=2)):
        _capture(_raise_here)
    group.refresh_from_db()
    assert (group.resolved, group.resolved_at, group.resolved_by) == (False, None, "")
    assert (group.count, group.reopened_at, group.last_seen) == (2, T0 + dt.timedelta(hours=2),
                                                                 T0 + dt.timedelta(hours=2))


def test_logged_messages_group_by_their_template():
    log = logging.getLogger("payments.reconcile")
    log.error("payment %s failed after %d attempts", "pay_A1b2C3d4E5", 3)
    log.error("payment %s failed after %d attempts", "pay_Z9y8X7w6V5", 4)
    log.error("ledger out of balance by %s", "12.00")
    log.warning("below the handler's level")
    groups = {g.title: (g.count, g.kind, g.source, g.sample_message) for g in ErrorGroup.objects.all()}
    assert groups == {
        "payment pay_A1b2C3d4E5 failed after 3 attempts": (2, "message", "payments.reconcile",
                                                           "payment pay_Z9y8X7w6V5 failed after 4 attempts"),
        "ledger out of balance by 12.00": (1, "message", "payments.reconcile", "ledger out of balance by 12.00"),
    }


def test_reported_messages_fold_ids_and_numbers():
    errorlog.report_error("refund re_AAAAAAAA11 failed with code 502", source="svc")
    errorlog.report_error("refund re_BBBBBBBB22 failed with code 503", source="svc")
    errorlog.report_error("refund re_BBBBBBBB22 failed with code 503", source="other")
    assert sorted(ErrorGroup.objects.values_list("source", "count")) == [("other", 1), ("svc", 2)]
    assert ErrorGroup.objects.get(source="svc").grouping == "svc\n\nrefund <id> failed with code <n>"


def test_a_reported_python_stack_groups_by_its_own_frames():
    stack = ('Traceback (most recent call last):\n'
             '  File "/srv/app/.venv/lib/python3.11/site-packages/lib.py", line 10, in call\n'
             '    return fn()\n'
             '  File "/srv/app/shop/cart.py", line 42, in checkout\n'
             '    total = price / qty\n'
             'ZeroDivisionError: division by zero\n')
    errorlog.report_error("division by zero", exception_type="ZeroDivisionError", stack=stack, source="shop")
    errorlog.report_error("division by zero (again)", exception_type="ZeroDivisionError",
                          stack=stack.replace("line 42", "line 43"), source="shop")
    group = ErrorGroup.objects.get()
    assert (group.count, group.kind, group.culprit) == (2, "exception", "/srv/app/shop/cart.py in checkout")
    assert group.grouping == "ZeroDivisionError\n/srv/app/shop/cart.py:checkout:total = price / qty"


def test_a_group_keeps_its_newest_occurrences():
    for minute in range(errorlog.RECENT_OCCURRENCES + 5):
        with clock.frozen_at(T0 + dt.timedelta(minutes=minute)):
            errorlog.report_error(f"job {minute} failed", source="jobs")
    group = ErrorGroup.objects.get()
    kept = list(group.occurrences.values_list("message", flat=True))
    assert group.count == errorlog.RECENT_OCCURRENCES + 5
    assert kept == [f"job {m} failed" for m in range(errorlog.RECENT_OCCURRENCES + 4, 4, -1)]
