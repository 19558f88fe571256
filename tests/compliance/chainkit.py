"""Helpers of the audit chain tests: events at given times, sealing until done, tampering behind the
trigger's back."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import time

from django.core.management import call_command
from django.db import connection

from compliance.chain import seal_pending
from core import clock
from core.audit import audit_record
from core.context import Actor
from core.models import AuditEvent

BASE = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
ACTION = "customer.created"


def record(minute: int = 0, *, at: dt.datetime | None = None, **details) -> AuditEvent:
    with clock.frozen_at(at or BASE + dt.timedelta(minutes=minute)):
        return audit_record(action=ACTION, actor=Actor.system("tests"), object_type="accounts.customer",
                            object_id=f"cus_{minute}", details=details or {"n": minute})


def seal_all(timeout: float = 60) -> int:
    """Seals until no row is left unsealed. On PostgreSQL a transaction open anywhere on the server (other
    test runs share it) holds sealing back until it ends, so this waits, bounded."""
    total = 0
    deadline = time.monotonic() + timeout
    while True:
        total += seal_pending()
        if not AuditEvent.objects.filter(seq__isnull=True).exists():
            return total
        assert time.monotonic() < deadline, "rows still unsealed"
        time.sleep(0.05)


def chain() -> list[tuple[int, str]]:
    return list(AuditEvent.objects.filter(seq__isnull=False).order_by("seq").values_list("seq", "id"))


@contextlib.contextmanager
def behind_the_trigger():
    """Statements in the block run with the PostgreSQL triggers off (what someone with the database's
    superuser could do); SQLite has no audit trigger."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")


def raw(sql: str, params: list | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


def run_verify(*args: str) -> tuple[int, dict]:
    """`manage.py verify_audit_chain` with `args`: its exit code and its one JSON line."""
    out = io.StringIO()
    code = 0
    try:
        call_command("verify_audit_chain", *args, stdout=out)
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue())
