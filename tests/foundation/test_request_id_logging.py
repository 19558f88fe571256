import io
import json
import logging
import re

import pytest
from django.conf import settings

from core.logging import JsonFormatter, RequestContextFilter

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.foundation.urls")]


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_request_id_in_and_out(api):
    r = api.get("/api/v1/customers", HTTP_X_REQUEST_ID="client-given-id-123")
    assert r["X-Request-ID"] == "client-given-id-123"


@pytest.mark.parametrize("incoming", [None, "short", "has spaces in it", "x" * 200, "<script>alert(1)</script>",
                                      "4242424242424242", "4242-4242-4242-4242", "order:4111111111111111"])
def test_request_id_generated_when_missing_or_unsafe(api, incoming):
    headers = {"HTTP_X_REQUEST_ID": incoming} if incoming else {}
    r = api.get("/api/v1/customers", **headers)
    assert r["X-Request-ID"].startswith("req_")
    assert len(r["X-Request-ID"]) == 36


def test_request_id_on_non_api_pages(client):
    r = client.get("/healthz", HTTP_X_REQUEST_ID="probe-0000000001")
    assert r["X-Request-ID"] == "probe-0000000001"


def test_every_log_line_of_a_request_is_json_with_its_request_id(api, json_log):
    api.get("/api/test/crash", HTTP_X_REQUEST_ID="logged-request-01")
    lines = json_log()
    assert {line["logger"] for line in lines} >= {"core.api", "django.request"}
    for line in lines:
        assert line["request_id"] == "logged-request-01"
        assert line["ts"].endswith("Z")
    api_line = next(line for line in lines if line["logger"] == "core.api")
    assert api_line["level"] == "ERROR"
    assert api_line["actor"].endswith(f"({api.api_key.owner.username})")
    assert "RuntimeError" in api_line["exc_info"]


def test_log_line_outside_a_request_has_null_request_id(json_log):
    logging.getLogger("core.test").warning("outside", extra={"answer": 42})
    assert json_log() == [{"ts": json_log()[0]["ts"], "level": "WARNING", "logger": "core.test",
                           "message": "outside", "request_id": None, "answer": 42}]


def test_a_line_that_names_its_request_keeps_that_id_outside_a_request_and_the_requests_inside_one(json_log):
    """A web server's access line comes after the request's context is unbound, naming the id its response
    carried (config.daphne, config.serve); within a request the context's id is the one."""
    from core.context import bind_context, clear_context

    logging.getLogger("core.test").warning("access", extra={"request_id": "req_from_the_response"})
    bind_context(request_id="req_of_the_context")
    try:
        logging.getLogger("core.test").warning("inside", extra={"request_id": "req_other"})
    finally:
        clear_context()
    assert [(line["message"], line["request_id"]) for line in json_log()] == [
        ("access", "req_from_the_response"), ("inside", "req_of_the_context")]


def test_logging_settings_use_json_with_the_context_filter():
    handler = settings.LOGGING["handlers"]["console"]
    assert settings.LOGGING["formatters"][handler["formatter"]]["()"] == "core.logging.JsonFormatter"
    assert [settings.LOGGING["filters"][f]["()"] for f in handler["filters"]] == [
        "core.logging.RequestContextFilter", "core.logging.PanMaskingFilter"]


def test_a_card_number_as_request_id_is_neither_echoed_nor_stored(api, settings):
    from monitoring import requestlog
    from monitoring.models import RequestLog

    settings.REQUEST_LOG_ENABLED = True
    settings.REQUEST_LOG_BACKGROUND = False
    r = api.get("/api/v1/customers", HTTP_X_REQUEST_ID="4242424242424242")
    # Refused as card data in a header (core.cards.pan_header), and still logged under a request id of our own.
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["details"]) == (
        400, "raw_card_data_not_allowed", {"field": "headers.X-Request-Id"})
    requestlog.flush()
    row = RequestLog.objects.get()
    assert row.request_id == r["X-Request-ID"] != "4242424242424242"
    assert re.fullmatch(r"req_[0-9a-f]{32}", row.request_id)
    assert (row.status, row.error_code) == (400, "raw_card_data_not_allowed")
