"""Structured logs: one JSON object per line, with the request id and actor when known."""

from __future__ import annotations

import datetime as dt
import json
import logging

from .context import get_context

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = get_context()
        # django.request logs after our middleware has unbound the context; it passes the request.
        request = getattr(record, "request", None)
        record.request_id = ctx.request_id or getattr(request, "request_id", None)
        record.actor = ctx.actor.label if ctx.actor else None
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
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
