"""OpenTelemetry tracing of requests (Django), tasks (Celery) and queries (psycopg), exported as OTLP.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set: then nothing from the SDK is imported, no tracer
provider is installed and nothing is instrumented (the API's no-op tracer costs a context lookup).
On, `configure_tracing()` (from `MonitoringConfig.ready()`, before any middleware is loaded) installs
a tracer provider exporting batches over OTLP/HTTP (the exporter reads the standard `OTEL_EXPORTER_OTLP_*`
variables: headers, timeout, compression), named `OTEL_SERVICE_NAME`, and instruments Django (its
middleware goes first in MIDDLEWARE), Celery and psycopg. Every span started while a request or task
is bound carries its request id as `app.request_id` (the Django span gets it when the response is
ready), and JSON log lines carry `trace_id` and `span_id` while a span is active (core.logging).

psycopg: `opentelemetry-instrumentation-psycopg` has no release of the 0.66b2 line the SDK 1.45.2 needs
(its 0.66b1 pins `opentelemetry-instrumentation==0.66b1`), so the same technique (a traced cursor
factory given to `psycopg.connect`) is applied here on `opentelemetry-instrumentation-dbapi`; replace it
with `PsycopgInstrumentor` once a matching release exists.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.conf import settings

from core.context import current_request_id

logger = logging.getLogger("monitoring.tracing")
REQUEST_ID_ATTRIBUTE = "app.request_id"
_PSYCOPG_ATTRIBUTES = {"database": "info.dbname", "port": "info.port", "host": "info.host", "user": "info.user"}
_state: dict[str, Any] = {"instrumented": False, "provider": None}


def untraced() -> AbstractContextManager[Any]:
    """Work that must not make spans (the error log's own writes: an exporter failing to export would
    otherwise be logged, recorded, traced and exported again, for ever)."""
    if not is_instrumented():
        return nullcontext()
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    return suppress_instrumentation()


def enabled() -> bool:
    return bool(getattr(settings, "OTEL_EXPORTER_OTLP_ENDPOINT", ""))


def is_instrumented() -> bool:
    return bool(_state["instrumented"])


def request_id_span_processor() -> Any:
    """A span processor stamping each span started within a request or task with its request id (built
    here: the SDK is imported only when tracing is on)."""
    from opentelemetry.sdk.trace import SpanProcessor

    class RequestIdSpanProcessor(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            request_id = current_request_id()
            if request_id:
                span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)

    return RequestIdSpanProcessor()


def _response_hook(span: Any, request: Any, response: Any) -> None:
    # The Django span starts in the outermost middleware, before the request id exists.
    request_id = getattr(request, "request_id", None)
    if request_id and span is not None and span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def configure_tracing() -> bool:
    """Installs the OTLP exporter and the instrumentation when the endpoint is configured; else nothing."""
    if not enabled() or is_instrumented():
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    instrument(provider)
    return True


def instrument(provider: Any) -> None:
    """Instruments Django, Celery and psycopg with `provider` (an SDK TracerProvider)."""
    if is_instrumented():
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    provider.add_span_processor(request_id_span_processor())
    DjangoInstrumentor().instrument(tracer_provider=provider, response_hook=_response_hook)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    _instrument_psycopg(provider)
    _state.update(instrumented=True, provider=provider)


def uninstrument() -> None:
    """Undoes `instrument` (tests): Django's middleware entry, Celery's signals, psycopg's connect."""
    if not is_instrumented():
        return
    import psycopg
    from opentelemetry.instrumentation import dbapi
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().uninstrument()
    CeleryInstrumentor().uninstrument()
    for target in _connect_targets(psycopg):
        dbapi.unwrap_connect(target, "connect")
    _state.update(instrumented=False, provider=None)


def _instrument_psycopg(provider: Any) -> None:
    import psycopg
    from opentelemetry.instrumentation import dbapi

    class TracedIntegration(dbapi.DatabaseApiIntegration):
        def wrapped_connection(self, connect_method: Any, args: Any, kwargs: Any) -> Any:
            # Django passes its own cursor class: the traced one extends it.
            base = kwargs.pop("cursor_factory", None) or psycopg.Cursor
            kwargs["cursor_factory"] = _traced_cursor_factory(self, base)
            connection = connect_method(*args, **kwargs)
            self.get_connection_attributes(connection)
            return connection

    for target in _connect_targets(psycopg):
        dbapi.wrap_connect(__name__, target, "connect", "postgresql", _PSYCOPG_ATTRIBUTES,
                           version=psycopg.__version__, tracer_provider=provider,
                           db_api_integration_factory=TracedIntegration)


def _connect_targets(psycopg: Any) -> list[Any]:
    # `psycopg.connect` (what Django calls) and `Connection.connect`; typed Any: wrap_connect is typed for callables.
    return [psycopg, psycopg.Connection]


def _traced_cursor_factory(integration: Any, base: type) -> type:
    from opentelemetry.instrumentation import dbapi
    from psycopg.sql import Composable

    class CursorTracer(dbapi.CursorTracer):
        def get_operation_name(self, cursor: Any, args: Any) -> str:
            if args and isinstance(args[0], Composable):
                words = args[0].as_string(cursor).split()
                return words[0] if words else ""
            return str(super().get_operation_name(cursor, args))

        def get_statement(self, cursor: Any, args: Any) -> str:
            if args and isinstance(args[0], Composable):
                return str(args[0].as_string(cursor))
            return str(super().get_statement(cursor, args))

    tracer = CursorTracer(integration)

    class TracedCursor(base):  # a subclass of the cursor class Django chose
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            return tracer.traced_execution(self, super().execute, *args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> Any:
            return tracer.traced_execution(self, super().executemany, *args, **kwargs)

    return TracedCursor
