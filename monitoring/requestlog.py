"""The request log (as in Stripe's dashboard): every REST request under /api/ and every MCP tool call,
with who called (API key, user), what (route pattern or tool), the answer (status, error code,
latency), the request id and idempotency key, and both bodies redacted and truncated.

Cheap on the request path: `RequestLogMiddleware` and `record_mcp_call` only capture the raw request
and answer and queue them in memory; a background thread per process (`REQUEST_LOG_BACKGROUND`) redacts
them and bulk-inserts a batch every `REQUEST_LOG_FLUSH_SECONDS` (or sooner when a batch is full), in
autocommit, never in a request's transaction; behind `config.serve`, the thread hands the batch to a writer process
of its own, which runs at idle priority (`logrelay`). Without the thread (tests) the row is written right after
the answer, still outside the request's transaction. A write that fails is logged with its count, never
raised into a request; a full queue drops entries and says so.

Redaction (`redact`): by key name (secrets: password, secret, token, *key, authorization, cvc, pin, otp,
card...; personal data: email, phone, name, address, birth...) and by value (card numbers as
`core.redaction.mask_pans` masks them, e-mail addresses as `compliance.masking` masks them, bearer
tokens, our API keys and webhook signing secrets). Keys ending in `_id`/`_ids` are references, kept.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from core import clock, jsonparse, rawrows
from core.context import Actor, current_request_id, get_context
from core.errors import DomainError
from core.exits import at_exit
from core.ids import get_by_public_id
from core.pagination import Page, paginate

from .logrelay import RelayClient, RelayUnavailable
from .models import RequestLog
from .redaction import redact, redact_text
from .routes import rest_route

logger = logging.getLogger("monitoring.requestlog")

PURGE_CHUNK = 1000

def _bounded(value: Any) -> tuple[Any, bool]:
    """The redacted value, or the start of its JSON text when longer than REQUEST_LOG_MAX_BODY_CHARS."""
    if value is None:
        return None, False
    limit = settings.REQUEST_LOG_MAX_BODY_CHARS
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return value, False
    return text[:limit], True


def _body_value(raw: bytes | None, content_type: str) -> Any:
    """A request or response body as a JSON value (text when it is not JSON), unredacted."""
    if not raw:
        return None
    if content_type.startswith("multipart/"):
        return raw.decode("utf-8", errors="replace")  # the middleware's note of the body's size
    try:
        return jsonparse.loads(raw)
    except (jsonparse.InvalidJson, ValueError):
        return raw.decode("utf-8", errors="replace")


# --- capture and write -----------------------------------------------------------------------------


@dataclass
class Entry:
    """What the request path captures: raw, unredacted, in memory only until the writer redacts it."""

    created: dt.datetime
    kind: str
    method: str
    status: int
    duration_ms: float
    request_id: str = ""
    route: str = ""
    tool: str = ""
    path: str = ""
    idempotency_key: str = ""
    error_code: str = ""
    api_key_id: str = ""
    api_key_name: str = ""
    user_id: str = ""
    username: str = ""
    query: dict[str, Any] = field(default_factory=dict)
    request_raw: bytes | None = None
    request_type: str = ""
    response_raw: bytes | None = None
    response_type: str = ""
    request_value: Any = None
    response_value: Any = None


def _who(entry: Entry, actor: Actor | None) -> None:
    if actor is None:
        return
    if actor.api_key is not None:
        entry.api_key_id, entry.api_key_name = str(actor.api_key.pk), str(actor.api_key.name)[:100]
    if actor.user is not None:
        entry.user_id, entry.username = str(actor.user.pk)[:40], str(actor.user.get_username())[:150]


def _error_code(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        if isinstance(code, str):
            return code[:64]
    return ""


def _row(entry: Entry) -> RequestLog:
    request_value = entry.request_value if entry.request_raw is None else _body_value(entry.request_raw,
                                                                                      entry.request_type)
    response_value = entry.response_value if entry.response_raw is None else _body_value(entry.response_raw,
                                                                                         entry.response_type)
    request_body, request_truncated = _bounded(redact(request_value))
    response_body, response_truncated = _bounded(redact(response_value))
    return RequestLog(
        created=entry.created, kind=entry.kind, method=entry.method[:16], route=entry.route[:200],
        tool=entry.tool[:128], path=redact_text(entry.path)[:500], status=entry.status,
        duration_ms=round(entry.duration_ms, 3), request_id=entry.request_id[:140],
        idempotency_key=redact_text(entry.idempotency_key)[:255],
        error_code=(entry.error_code or (_error_code(response_value) if entry.status >= 400 else ""))[:64],
        api_key_id=entry.api_key_id, api_key_name=entry.api_key_name, user_id=entry.user_id,
        username=entry.username, query=redact(entry.query) or {}, request_body=request_body,
        response_body=response_body, request_truncated=request_truncated, response_truncated=response_truncated)


def write(entries: list[Entry]) -> int:
    """Redacts and inserts the entries in one statement; returns how many were written. Never raises:
    a failure is logged with the number of rows lost."""
    rows = []
    for entry in entries:
        try:
            rows.append(_row(entry))
        except Exception:  # noqa: BLE001  # one bad entry must not lose the batch
            logger.exception("request log: could not prepare an entry",
                             extra={"logged_request_id": entry.request_id})
    if not rows:
        return 0
    error = _insert(rows)
    if error is None:
        return len(rows)
    # One bad row must not lose its batch: each on its own, and only the rows that fail are lost.
    errors = [_insert([row]) for row in rows] if len(rows) > 1 else [error]
    failed = [e for e in errors if e is not None]
    if failed:
        logger.error("request log: could not write %d of %d rows", len(failed), len(rows), exc_info=failed[0])
    return len(rows) - len(failed)


def _insert(rows: list[RequestLog]) -> Exception | None:
    """None when the rows are written, else what refused them."""
    try:
        if connection.in_atomic_block:
            # Someone else's transaction (a test, a batch): a savepoint, so a failed insert cannot poison it.
            with transaction.atomic():
                rawrows.copy_in(rows)
        else:
            rawrows.copy_in(rows)  # autocommit: one statement, committed on its own
    except Exception as exc:  # noqa: BLE001  # the requests were answered; a lost row is logged by write()
        return exc
    return None


class _Writer:
    """This process's queue of captured entries and the daemon thread that writes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Held while a batch is written: a flush returns only once what was taken before it is written too (the
        # thread's batch in flight at shutdown, or before a bench reads what the requests wrote).
        self._writing = threading.Lock()
        self._pending: list[Entry] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.dropped = 0
        self._relay: RelayClient | None = None
        self._relay_failures = 0
        self._relay_failure_said = -math.inf

    def submit(self, entry: Entry) -> None:
        if not settings.REQUEST_LOG_BACKGROUND:
            write([entry])
            return
        with self._lock:
            pid = os.getpid()
            if self._pid != pid:
                if self._pid:  # a forked worker: what the parent queued is the parent's to write
                    self._pending, self.dropped = [], 0
                self._pid, self._thread = pid, None
            if len(self._pending) >= settings.REQUEST_LOG_MAX_PENDING:
                self.dropped += 1
                full = True
            else:
                self._pending.append(entry)
                full = len(self._pending) >= settings.REQUEST_LOG_BATCH_SIZE
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def _run(self) -> None:
        while True:
            # Each wait drawn around the interval: the workers of a server start writing at their first request,
            # together, and would otherwise stay in step, each flush a burst of CPU on every core at once.
            self._wake.wait(timeout=settings.REQUEST_LOG_FLUSH_SECONDS * random.uniform(0.5, 1.5))
            self._wake.clear()
            try:
                close_old_connections()
                if not self.flush():
                    connection.close()  # idle: no connection held between bursts (nor at shutdown)
            except Exception:  # noqa: BLE001  # the thread must outlive a bad batch; the batch is reported
                logger.exception("request log: writer failed")

    def flush(self) -> int:
        """Writes what is queued now, in the calling thread, after any batch the thread is writing; returns how many
        rows this call wrote."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, []
                dropped, self.dropped = self.dropped, 0
            if dropped:
                logger.warning("request log: %d entries dropped (queue full at %d)", dropped,
                               settings.REQUEST_LOG_MAX_PENDING)
            written = 0
            size = settings.REQUEST_LOG_BATCH_SIZE
            for start in range(0, len(batch), size):
                written += self._hand_over(batch[start:start + size])
            return written

    def _hand_over(self, entries: list[Entry]) -> int:
        """To the writer process where the server runs one (`logrelay`), else written here; returns how many."""
        path = settings.REQUEST_LOG_RELAY
        if path:
            if self._relay is None or self._relay.path != path:
                self._relay = RelayClient(path)
            try:
                self._relay.send(entries)
                return len(entries)
            except RelayUnavailable as exc:
                self._relay_failed(exc, len(entries))
        return write(entries)

    def _relay_failed(self, exc: RelayUnavailable, count: int) -> None:
        # Said once a minute, with how many batches went the other way since: a writer process that died would
        # otherwise be reported by every worker every second.
        self._relay_failures += 1
        now = time.monotonic()
        if now - self._relay_failure_said >= 60:
            logger.warning("request log: %s; %d batches (this one %d entries) written by this worker instead",
                           exc, self._relay_failures, count)
            self._relay_failure_said, self._relay_failures = now, 0


_writer = _Writer()


def flush() -> int:
    """Writes every queued entry of this process now (tests, the demo, shutdown)."""
    return _writer.flush()


at_exit(flush)


def enabled() -> bool:
    return bool(settings.REQUEST_LOG_ENABLED)


class RequestLogMiddleware:
    """Logs every request under /api/ (placed right after `core.middleware.RequestContextMiddleware`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith("/api/v") or not enabled():
            return self.get_response(request)
        created, started = clock.now(), time.perf_counter()
        raw = self._request_body(request)
        status = 500
        response: HttpResponseBase | None = None
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            try:
                self._capture(request, response, raw, created, started, status)
            except Exception:  # noqa: BLE001  # the answer stands; the lost row is reported
                logger.exception("request log: could not capture a request")

    @staticmethod
    def _request_body(request: HttpRequest) -> bytes | None:
        # Read before the view: DRF reads the stream itself, after which `request.body` is gone.
        if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return None
        if (request.content_type or "").startswith("multipart/"):  # files: not read into memory, not logged
            return f"<multipart body of {request.META.get('CONTENT_LENGTH', '?')} bytes>".encode()
        try:
            return request.body
        except Exception:  # noqa: BLE001  # too large or unreadable: the view answers it (413); we log without
            return None

    @staticmethod
    def _capture(request: HttpRequest, response: HttpResponseBase | None, raw: bytes | None,
                 created: dt.datetime, started: float, status: int) -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        query = {key: values if len(values) > 1 else values[0] for key, values in request.GET.lists()}
        entry = Entry(created=created, kind=RequestLog.Kind.REST, method=request.method or "",
                      route=rest_route(request) or "", path=request.path, status=status, duration_ms=duration_ms,
                      request_id=getattr(request, "request_id", "") or "",
                      idempotency_key=request.headers.get("Idempotency-Key", ""), query=query,
                      request_raw=raw, request_type=request.content_type or "")
        if isinstance(response, HttpResponse):
            entry.response_raw = response.content
            entry.response_type = response.get("Content-Type", "")
        elif response is None:
            entry.error_code = "internal_error"
        _who(entry, get_context().actor)
        _writer.submit(entry)


_OUTCOME_STATUS = {"success": 200, "dry_run": 200, "pending_approval": 202, "invalid_params": 400,
                   "internal_error": 500}
_code_status: dict[str, int] = {}


def _status_of(code: str) -> int:
    """The HTTP status REST answers a domain error code with (an MCP refusal is reported with it)."""
    if code not in _code_status:
        stack: list[type[DomainError]] = [DomainError]
        while stack:
            cls = stack.pop()
            _code_status.setdefault(cls.code, cls.status)
            stack.extend(cls.__subclasses__())
    return _code_status.get(code, 400)


def record_mcp_call(*, tool: str, actor: Actor | None, arguments: Any, result: Any, outcome: str,
                    error_code: str = "", idempotency_key: str = "", duration_ms: float) -> None:
    """Logs one MCP tool call (mcp_gateway calls it once the call is answered, outside its transactions).

    `result` is the MCP result (its structuredContent is the logged answer); `outcome` the tool-call
    log's outcome (success, error, invalid_params, pending_approval, dry_run, internal_error)."""
    if not enabled():
        return
    try:
        status = _status_of(error_code) if outcome == "error" else _OUTCOME_STATUS.get(outcome, 200)
        body = result.get("structuredContent") if isinstance(result, dict) else None
        if outcome == "internal_error" and body is None:
            body = {"error": {"code": "internal_error", "message": "An unexpected error occurred."}}
        entry = Entry(created=clock.now() - dt.timedelta(milliseconds=duration_ms), kind=RequestLog.Kind.MCP,
                      method="tools/call", tool=tool, path="/mcp", status=status, duration_ms=duration_ms,
                      request_id=current_request_id() or "", idempotency_key=idempotency_key or "",
                      error_code=error_code, request_value=arguments, response_value=body)
        _who(entry, actor)
        _writer.submit(entry)
    except Exception:  # noqa: BLE001  # the call was answered; the lost row is reported
        logger.exception("request log: could not capture an MCP call", extra={"tool": tool})


# --- reads and retention ---------------------------------------------------------------------------


def request_log_queryset(*, api_key_id: str | None = None, status: tuple[int, int] | None = None,
                         route: str | None = None, tool: str | None = None, kind: str | None = None,
                         method: str | None = None, error_code: str | None = None, request_id: str | None = None,
                         created_gte: dt.datetime | None = None,
                         created_lte: dt.datetime | None = None) -> QuerySet[RequestLog]:
    """`status` is a range [low, high] of HTTP statuses (one status, or a class such as 4xx)."""
    qs = RequestLog.objects.all()
    given = {"api_key_id": api_key_id, "route": route, "tool": tool, "kind": kind, "method": method,
             "error_code": error_code, "request_id": request_id, "created__gte": created_gte,
             "created__lte": created_lte}
    qs = qs.filter(**{k: v for k, v in given.items() if v not in (None, "")})
    if status is not None:
        low, high = status
        qs = qs.filter(Q(status=low) if low == high else Q(status__gte=low, status__lte=high))
    return qs


def request_log_list(*, limit: int = 20, cursor: str | None = None, **filters: Any) -> Page:
    """Newest first, cursor-paginated on (created, id)."""
    return paginate(request_log_queryset(**filters), limit=limit, cursor=cursor)


def request_log_get(*, request_log_id: str) -> RequestLog:
    return get_by_public_id(RequestLog.objects.all(), request_log_id, field="request_log_id",
                            message="No such request log entry.")


def retention_cutoff() -> dt.datetime:
    return clock.now() - dt.timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS)


def request_log_purge() -> int:
    """Deletes rows older than REQUEST_LOG_RETENTION_DAYS in chunks, each its own transaction, so a
    month of requests never holds one long lock; returns how many."""
    cutoff = retention_cutoff()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(RequestLog.objects.filter(created__lt=cutoff).order_by()
                       .values_list("pk", flat=True)[:PURGE_CHUNK])
            if not ids:
                break
            RequestLog.objects.filter(pk__in=ids).delete()
        total += len(ids)
    return total
