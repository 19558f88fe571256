"""The error log: unhandled exceptions and reported errors, grouped (as Sentry groups issues).

Three ways in, one record:
- `capture_exception(exc, request=None)`: Django's `got_request_exception` (views outside /api/), and
  every exception logged at ERROR with `exc_info` (the API's 500s: `core.api` and `core.middleware`
  log them with the request; Celery's task failures; `logger.exception` anywhere) through
  `ErrorLogHandler`. An exception is recorded once however many times it is logged.
- `report_error(message, ...)`: a message without an exception (the handler's other records).
- `error_log(...)`: the `log_error` operation (REST `POST /api/v1/errors`, MCP), audited.

The fingerprint is the exception's type and the innermost frames of our own code (module, function and
the line's source text, so an unrelated edit above it does not split the group), or the source and the
message's template (the logging call's format string; numbers and ids folded). Everything stored is
redacted first (`monitoring.redaction`, the request log's rules too): card numbers, secrets and personal data.

The write never belongs to the failing work's transaction: inside an open transaction (which may still
roll back, taking a record with it) the occurrence waits in a per-thread list until that transaction
ends: its commit (`on_commit`), the end of the request (`request_finished`) or task (`task_postrun`),
or the next occurrence recorded outside a transaction. Outside a transaction it is written at once in
one of its own. Counting is one `UPDATE ... SET count = count + 1`, so concurrent occurrences all count.
Nothing here raises or logs at ERROR: a failed write is dropped with a WARNING on `monitoring.errorlog`
(and a per-thread guard stops any record this module causes from coming back to it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest

from core import clock
from core.audit import audit_record
from core.context import Actor, get_context
from core.db import require_transaction, use_case
from core.ids import get_by_public_id
from core.pagination import Page, paginate

from .audit_errors import ErrorsAction
from .errorlog_handler import ErrorLogHandler
from .errors_errors import ErrorAlreadyResolved
from .models import ErrorGroup, ErrorOccurrence
from .redaction import redact, redact_text
from .routes import rest_route
from .tracing import untraced

logger = logging.getLogger("monitoring.errorlog")
__all__ = ["ErrorLogHandler", "capture_exception", "flush_pending", "report_error"]

FRAMES_IN_FINGERPRINT = 3
RECENT_OCCURRENCES = 20  # occurrences kept per group besides the sample (the newest)
PENDING_LIMIT = 100  # occurrences a thread keeps while its transaction is open; more are dropped
TRACEBACK_LIMIT = 16_000  # characters of the traceback kept (its end: the innermost frames)
MESSAGE_LIMIT = 4_000
LEVELS = ("debug", "info", "warning", "error", "fatal")
# Loggers that report a response's status (the request metrics count those), not an error of their own.
_RESPONSE_LOGGERS = frozenset({"django.request", "django.server", "daphne.access"})
_NOT_OURS = ("/.venv/", "/site-packages/", "/dist-packages/", "/django/", "/lib/python")

# --- grouping -------------------------------------------------------------------------------------
_VARIABLE = (
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b[a-z]{2,6}_[A-Za-z0-9]{8,}\b"), "<id>"),
    (re.compile(r"\b[0-9a-fA-F]{12,}\b"), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)
_TRACEBACK_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>[^\n]+)\n'
                              r'(?:(?P<code>\s+(?!File ")[^\n]*)\n)?', re.MULTILINE)


def message_template(text: str) -> str:
    """The message with what varies between occurrences (numbers, ids, uuids) folded: one group for
    "payment pay_1 failed" and "payment pay_2 failed"."""
    text = redact_text(text).strip()
    for pattern, mask in _VARIABLE:
        text = pattern.sub(mask, text)
    return text[:1000]


@dataclass(frozen=True)
class Frame:
    path: str  # relative to the project for ours
    function: str
    lineno: int
    code: str  # the line's source text, stripped ("" when not available)

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")

    def key(self) -> str:
        return f"{self.path}:{self.function}:{self.code or self.lineno}"


def _is_ours(filename: str) -> bool:
    base = str(settings.BASE_DIR).rstrip("/") + "/"
    return filename.startswith(base) and not any(part in filename[len(base) - 1:] for part in _NOT_OURS)


def _frames_of(exc: BaseException) -> list[Frame]:
    base = str(settings.BASE_DIR).rstrip("/") + "/"
    frames = []
    for summary in traceback.extract_tb(exc.__traceback__):
        filename = summary.filename
        path = filename[len(base):] if _is_ours(filename) else filename
        frames.append(Frame(path=path, function=summary.name, lineno=summary.lineno or 0,
                            code=(summary.line or "").strip()))
    return frames


def _frames_of_text(stack: str) -> list[Frame]:
    """Frames of a Python traceback someone reported as text (log_error's `stack`)."""
    return [Frame(path=m.group("file"), function=m.group("func").strip(), lineno=int(m.group("line")),
                  code=(m.group("code") or "").strip()) for m in _TRACEBACK_FRAME.finditer(stack)]


def _ours(frames: list[Frame], *, reported: bool = False) -> list[Frame]:
    if reported:
        return [f for f in frames if not any(part in f.path for part in _NOT_OURS)]
    return [f for f in frames if not f.path.startswith("/")]


def _digest(basis: str) -> str:
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


# --- occurrences ----------------------------------------------------------------------------------
@dataclass
class Occurrence:
    """One error as it will be stored: already grouped and redacted."""

    fingerprint: str
    grouping: str
    kind: str
    level: str
    title: str
    culprit: str
    source: str
    exception_type: str
    message: str
    traceback: str
    request_id: str
    route: str
    details: dict[str, Any] = field(default_factory=dict)
    at: Any = None


def _level(level: str) -> str:
    level = (level or "error").lower()
    level = {"critical": "fatal", "warn": "warning", "exception": "error"}.get(level, level)
    return level if level in LEVELS else "error"


def _request_facts(request: Any) -> tuple[str, str]:
    """(request id, route) of a Django or DRF request, else of the bound context."""
    request_id = getattr(request, "request_id", None) if request is not None else None
    request_id = request_id or get_context().request_id or ""
    route = ""
    if request is not None and hasattr(request, "path") and hasattr(request, "method"):
        try:
            route = rest_route(request) or ""
            if not route:
                match = getattr(request, "resolver_match", None)
                route = f"{request.method} /{match.route}" if match is not None and match.route \
                    else f"{request.method} {request.path}"
        except Exception:  # noqa: BLE001  # a half-built request: the route is a nicety
            route = ""
    return str(request_id)[:128], redact_text(route)[:300]


def _type_name(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module in ("builtins", "__main__") else f"{module}.{exc_type.__qualname__}"


def exception_occurrence(exc: BaseException, *, request: Any = None, level: str = "error", source: str = "",
                         message: str = "", details: dict[str, Any] | None = None) -> Occurrence:
    type_name = _type_name(type(exc))
    frames = _frames_of(exc)
    ours = _ours(frames)
    chosen = (ours or frames)[-FRAMES_IN_FINGERPRINT:]
    grouping = "\n".join([type_name, *(f.key() for f in chosen)])
    culprit_frame = (ours or frames)[-1] if (ours or frames) else None
    culprit = f"{culprit_frame.module} in {culprit_frame.function}" if culprit_frame else source
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    title = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    request_id, route = _request_facts(request)
    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    details = dict(details or {})
    if message and message != text:
        details["log_message"] = message  # what the logging call said about it ("unhandled error")
    return Occurrence(
        fingerprint=_digest(redact_text(grouping)), grouping=redact_text(grouping), kind=ErrorGroup.Kind.EXCEPTION,
        level=_level(level), title=redact_text(title)[:300], culprit=redact_text(culprit)[:300], source=source[:200],
        exception_type=type_name[:200], message=redact_text(text)[:MESSAGE_LIMIT],
        traceback=redact_text(formatted)[-TRACEBACK_LIMIT:], request_id=request_id, route=route,
        details=redact(details), at=clock.now())


def message_occurrence(message: str, *, template: str = "", level: str = "error", source: str = "",
                       exception_type: str = "", stack: str = "", request: Any = None,
                       details: dict[str, Any] | None = None) -> Occurrence:
    reported = _ours(_frames_of_text(stack), reported=True)[-FRAMES_IN_FINGERPRINT:] if stack else []
    if exception_type and reported:
        grouping = "\n".join([exception_type, *(f.key() for f in reported)])
        culprit = f"{reported[-1].path} in {reported[-1].function}"
        kind = ErrorGroup.Kind.EXCEPTION
    else:
        grouping = "\n".join([source, exception_type, message_template(template or message)])
        culprit = source
        kind = ErrorGroup.Kind.EXCEPTION if exception_type else ErrorGroup.Kind.MESSAGE
    first_line = message.strip().splitlines()[0] if message.strip() else exception_type or "error"
    title = f"{exception_type}: {first_line}" if exception_type else first_line
    request_id, route = _request_facts(request)
    return Occurrence(
        fingerprint=_digest(redact_text(grouping)), grouping=redact_text(grouping), kind=kind, level=_level(level),
        title=redact_text(title)[:300], culprit=redact_text(culprit)[:300], source=source[:200],
        exception_type=exception_type[:200], message=redact_text(message)[:MESSAGE_LIMIT],
        traceback=redact_text(stack)[-TRACEBACK_LIMIT:], request_id=request_id, route=route,
        details=redact(details or {}), at=clock.now())


# --- writing --------------------------------------------------------------------------------------
def _store(occurrence: Occurrence) -> ErrorGroup:
    """The group of the occurrence, created or counted (inside the caller's transaction)."""
    require_transaction()
    now = occurrence.at or clock.now()
    sample = {"sample_request_id": occurrence.request_id, "sample_route": occurrence.route,
              "sample_message": occurrence.message, "sample_traceback": occurrence.traceback,
              "sample_details": occurrence.details, "level": occurrence.level}
    group, created = ErrorGroup.objects.get_or_create(
        fingerprint=occurrence.fingerprint,
        defaults={"grouping": occurrence.grouping, "kind": occurrence.kind, "title": occurrence.title,
                  "culprit": occurrence.culprit, "source": occurrence.source,
                  "exception_type": occurrence.exception_type, "count": 1, "first_seen": now, "last_seen": now,
                  **sample})
    ErrorOccurrence.objects.create(group=group, occurred_at=now, level=occurrence.level,
                                   request_id=occurrence.request_id, route=occurrence.route,
                                   message=occurrence.message, details=occurrence.details)
    if created:
        return group
    reopen = {"resolved": False, "resolved_at": None, "resolved_by": "", "reopened_at": now} if group.resolved else {}
    # One UPDATE: concurrent occurrences each add one (never a read-modify-write of the count).
    ErrorGroup.objects.filter(pk=group.pk).update(count=F("count") + 1, last_seen=Greatest(F("last_seen"), now),
                                                  **sample, **reopen)
    group.refresh_from_db()
    if group.count > RECENT_OCCURRENCES:
        keep = ErrorOccurrence.objects.filter(group=group).order_by("-occurred_at", "-id") \
            .values_list("id", flat=True)[:RECENT_OCCURRENCES]
        ErrorOccurrence.objects.filter(group=group).exclude(id__in=list(keep)).delete()
    return group


@use_case
def error_occurrence_record(*, actor: Actor, occurrence: Occurrence) -> ErrorGroup:
    """Records an occurrence (the automatic path: no audit, it is not anyone's act)."""
    return _store(occurrence)


@use_case
def error_log(*, actor: Actor, message: str, level: str = "error", source: str = "",
              details: dict[str, Any] | None = None, exception_type: str = "", stack: str = "") -> ErrorGroup:
    """The `log_error` operation: a reported error, grouped and counted like any other, audited."""
    occurrence = message_occurrence(message, level=level, source=source, exception_type=exception_type,
                                    stack=stack, details=details)
    group = _store(occurrence)
    audit_record(action=ErrorsAction.ERROR_REPORTED, actor=actor, obj=group,
                 details={"level": occurrence.level, "count": group.count, "source": occurrence.source})
    return group


@use_case
def error_group_resolve(*, actor: Actor, error_id: str) -> ErrorGroup:
    found = error_group_get(error_id=error_id)
    group = ErrorGroup.objects.select_for_update().get(pk=found.pk)
    if group.resolved:
        raise ErrorAlreadyResolved(details={"error_id": group.pk})
    group.resolved, group.resolved_at, group.resolved_by = True, clock.now(), actor.label[:200]
    group.save(update_fields=["resolved", "resolved_at", "resolved_by"])
    audit_record(action=ErrorsAction.ERROR_RESOLVED, actor=actor, obj=group, details={"count": group.count})
    return group


def error_group_get(*, error_id: str) -> ErrorGroup:
    return get_by_public_id(ErrorGroup.objects.all(), error_id, field="error_id", message="No such error group.")


def error_group_list(*, resolved: bool | None = None, level: str | None = None, since: Any = None,
                     limit: int | None = None, cursor: str | None = None) -> Page:
    qs = ErrorGroup.objects.all()
    if resolved is not None:
        qs = qs.filter(resolved=resolved)
    if level:
        qs = qs.filter(level=level)
    if since is not None:
        qs = qs.filter(last_seen__gte=since)
    return paginate(qs, limit=limit, cursor=cursor, created_field="last_seen")


# --- delivery outside the failing work's transaction -------------------------------------------------
class _State(threading.local):
    def __init__(self) -> None:
        self.pending: list[Occurrence] = []
        self.busy = False
        self.dropped = 0


_state = _State()


def _in_open_transaction() -> bool:
    """True inside a transaction that may still roll back. A test case's own atomic blocks are not one
    (Django itself looks through them the same way, for durable blocks): a test's writes end with it."""
    if not connection.in_atomic_block:
        return False
    if connection.needs_rollback:
        return True
    return not all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _write(occurrence: Occurrence) -> None:
    try:
        with untraced():
            error_occurrence_record(actor=Actor.system("errorlog"), occurrence=occurrence)
    except Exception as exc:  # noqa: BLE001  # the error log must never add an error of its own
        _state.dropped += 1
        logger.warning("error log write failed; occurrence dropped",
                       extra={"error": f"{type(exc).__name__}: {str(exc)[:200]}", "title": occurrence.title})


def flush_pending() -> None:
    """Writes the occurrences this thread kept while a transaction was open, if none is open now."""
    if not _state.pending or _in_open_transaction() or _in_event_loop():
        return
    was_busy, _state.busy = _state.busy, True
    try:
        pending, _state.pending = _state.pending, []
        for occurrence in pending:
            _write(occurrence)
    finally:
        _state.busy = was_busy


def _deliver(occurrence: Occurrence) -> None:
    if _in_open_transaction() or _in_event_loop():
        if len(_state.pending) >= PENDING_LIMIT:
            _state.dropped += 1
            return
        _state.pending.append(occurrence)
        if connection.in_atomic_block and not connection.needs_rollback:
            connection.on_commit(flush_pending, robust=True)
        return
    flush_pending()
    _write(occurrence)


def _captured(exc: BaseException) -> bool:
    return bool(getattr(exc, "_errorlog_captured", False))


def _mark(exc: BaseException) -> None:
    try:
        exc._errorlog_captured = True  # type: ignore[attr-defined]  # our marker: one record per exception
    except (AttributeError, TypeError):
        pass


def capture_exception(exc: BaseException | None, request: Any = None, *, level: str = "error", source: str = "",
                      message: str = "") -> None:
    """Records an unhandled exception (once, however many times it is logged). Never raises."""
    if exc is None or _captured(exc):
        return
    _mark(exc)
    was_busy, _state.busy = _state.busy, True
    try:
        _deliver(exception_occurrence(exc, request=request, level=level, source=source, message=message))
    except Exception:  # noqa: BLE001
        _state.dropped += 1
    finally:
        _state.busy = was_busy


def report_error(message: str, *, level: str = "error", source: str = "", template: str = "",
                 details: dict[str, Any] | None = None, exception_type: str = "", stack: str = "",
                 request: Any = None) -> None:
    """Records an error without an exception object (grouped by source and message template).
    Never raises; the written record is outside the caller's transaction (see the module's doc)."""
    was_busy, _state.busy = _state.busy, True
    try:
        _deliver(message_occurrence(message, template=template, level=level, source=source,
                                    exception_type=exception_type, stack=stack, request=request, details=details))
    except Exception:  # noqa: BLE001
        _state.dropped += 1
    finally:
        _state.busy = was_busy


def handle_record(record: logging.LogRecord) -> None:
    """`ErrorLogHandler`'s work: an exception's record is captured (once), any other is a reported message."""
    if _state.busy or record.name == logger.name or record.name.startswith(f"{logger.name}."):
        return
    if record.name in _RESPONSE_LOGGERS and not record.exc_info:
        return  # "Internal Server Error: /path": a response's status, its exception (if any) is recorded itself
    try:
        request = record.__dict__.get("request")
        request = request if hasattr(request, "method") else None
        level = _level(record.levelname)
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001  # arguments that do not fit the format
            text = f"{record.msg} {record.args!r}"
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            capture_exception(exc, request, level=level, source=record.name, message=text)
        else:
            report_error(text, template=str(record.msg), level=level, source=record.name,
                         stack=record.stack_info or "", request=request)
    except Exception:  # noqa: BLE001  # a handler must never raise into the code that logged
        _state.dropped += 1


def on_request_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """`got_request_exception`: Django's unhandled exceptions, with their request."""
    capture_exception(sys.exc_info()[1], request)


def on_boundary(sender: Any = None, **kwargs: Any) -> None:
    """`request_finished` / `task_postrun`: the work's transactions are over; write what waited."""
    flush_pending()


def pending_count() -> int:
    return len(_state.pending)
