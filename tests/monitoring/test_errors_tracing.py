"""Tracing: nothing is set up without OTEL_EXPORTER_OTLP_ENDPOINT; instrumented, a request makes a Django
span and psycopg spans carrying its request id; JSON log lines carry the active span's ids."""

import json
import logging

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rest_framework.test import APIClient

from core.context import bind_context
from core.logging import JsonFormatter, RequestContextFilter
from monitoring import errorlog, tracing
from monitoring.models import ErrorGroup

OTEL_MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"


def test_without_the_endpoint_nothing_is_instrumented():
    assert settings.OTEL_EXPORTER_OTLP_ENDPOINT == ""
    assert tracing.configure_tracing() is False
    assert tracing.is_instrumented() is False
    assert OTEL_MIDDLEWARE not in settings.MIDDLEWARE
    assert not hasattr(psycopg.connect, "__wrapped__")
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_the_endpoint_turns_it_on(settings):
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = "http://collector:4318"
    assert tracing.enabled() is True


def _log_line(**extra) -> dict:
    record = logging.LogRecord("tests.trace", logging.INFO, __file__, 1, "hello", (), None)
    RequestContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_json_logs_carry_the_active_span_ids():
    bind_context(request_id="req-log-trace-01")
    assert "trace_id" not in _log_line()
    provider = TracerProvider()
    with provider.get_tracer("tests").start_as_current_span("work") as span:
        line = _log_line()
        ids = span.get_span_context()
    assert (line["request_id"], line["trace_id"], line["span_id"]) == (
        "req-log-trace-01", format(ids.trace_id, "032x"), format(ids.span_id, "016x"))


@pytest.mark.django_db(transaction=True)
def test_a_request_makes_a_django_span_and_query_spans_with_its_request_id(make_key):
    raw_key = make_key("monitoring:read").raw_key
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.instrument(provider)
    try:
        assert settings.MIDDLEWARE[0] == OTEL_MIDDLEWARE
        connection.close()  # the next connection is made through the traced connect
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        response = client.get("/api/v1/errors", HTTP_X_REQUEST_ID="req-traced-000001")
        assert response.status_code == 200
        traced = len(exporter.get_finished_spans())
        errorlog.report_error("the error log's own write", source="tests")  # makes no span
        assert len(exporter.get_finished_spans()) == traced
    finally:
        tracing.uninstrument()
        connection.close()
    assert OTEL_MIDDLEWARE not in settings.MIDDLEWARE
    assert not hasattr(psycopg.connect, "__wrapped__")
    assert ErrorGroup.objects.filter(source="tests").count() == 1
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == trace.SpanKind.SERVER]
    assert [(s.name, s.attributes["app.request_id"]) for s in server] == [("GET api/v1/errors", "req-traced-000001")]
    queries = [s for s in spans if s.kind == trace.SpanKind.CLIENT]
    if connection.vendor == "postgresql":
        assert queries, [s.name for s in spans]
        assert {s.attributes.get("db.system") or s.attributes.get("db.system.name") for s in queries} == {"postgresql"}
        assert {s.attributes["app.request_id"] for s in queries} == {"req-traced-000001"}
        assert {s.parent.trace_id for s in queries} == {server[0].context.trace_id}
    else:
        assert queries == []  # SQLite: no psycopg
