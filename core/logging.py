"""Structured logs: one JSON object per line, with the request id and actor when known, and no card
numbers (`PanMaskingFilter` on every handler that writes: Django's, the tests', the web server's)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from typing import Any

from opentelemetry import trace

from .context import get_context
from .redaction import mask_pans

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = get_context()
        # django.request logs after our middleware has unbound the context; it passes the request. A web server's
        # access line comes after that too, naming the id its response carried (config.daphne, config.serve).
        request = getattr(record, "request", None)
        record.request_id = (ctx.request_id or getattr(record, "request_id", None)
                             or getattr(request, "request_id", None))
        record.actor = ctx.actor.label if ctx.actor else None
        # With tracing on (monitoring.tracing), the active span's ids: a log line leads to its trace.
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        return True


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pans(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(v) for v in value)
    if value is None or isinstance(value, bool):
        return value
    # Numbers and objects (Django passes the request) are written as their text: mask that text, and
    # keep the value itself when there is nothing to mask (handlers may use the object).
    text = str(value)
    masked = mask_pans(text)
    return value if masked == text else masked


def _rounded(value: Any) -> Any:
    return round(value, 6) if type(value) is float and math.isfinite(value) else value


def _measurements_rounded(args: Any) -> Any:
    """A float argument (a duration, a rate) to six decimals: the 17 digits of its full text pass the Luhn check
    one time in twenty and were masked as a card number ("succeeded in [PAN ****9562]s" in Celery's log). An
    integral float keeps every digit, so a card number passed as one is still masked."""
    if isinstance(args, dict):
        return {key: _rounded(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_rounded(value) for value in args)
    return args


class PanMaskingFilter(logging.Filter):
    """Card numbers in a record's message, arguments, extra fields, traceback or stack become
    `[PAN ****1234]` before any formatter sees it (a URL with a card number in it is logged when it is
    refused: by django.request, the web server's access log, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = _measurements_rounded(record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A message whose arguments don't fit would be printed raw by logging's error report:
            # keep both, masked, as the message.
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = mask_pans(message), ()
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = _masked(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_pans(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pans(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        actor = getattr(record, "actor", None)
        if actor:
            payload["actor"] = actor
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in payload and key not in ("request_id", "actor"):
                payload[key] = value
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        elif record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
