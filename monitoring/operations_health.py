"""Operations of the health part. Names are the MCP tool names: a contract."""

from __future__ import annotations

from core.operations import Operation, register

from . import health
from .serializers_health import HealthCheckSerializer, SystemStatusSerializer

MONITORING = ("monitoring",)

register(Operation(
    name="perform_health_check", title="Perform a health check",
    description=("Checks every component of the system now and returns each one's state (ok, degraded, down), "
                 "a one-sentence message, its details (round trips, counts, ages, thresholds) and how long its "
                 "check took in ms, plus the health score (0-100) and the formula that computed it. Components: "
                 "database, cache (Redis when configured), broker (Celery), worker (heartbeat), beat (overdue "
                 "schedules), outbox (backlog), disk (free space), fraud_model (the active model loaded), "
                 "ledger_verification and audit_chain (the last nightly results). Network checks are bounded by "
                 "a short timeout, so the call answers within seconds even when a service hangs. Reads only; "
                 "nothing is recorded. Use get_system_status for the cheaper summary. Takes no arguments."),
    handler=health.health_check_live, scope="monitoring:read", permission="monitoring.view_healthcheck",
    output=HealthCheckSerializer, tags=MONITORING,
))
register(Operation(
    name="get_system_status", title="Get the system status",
    description=("The system's health score (0-100), the formula that computed it (each component's weight times "
                 "its factor: ok 1, degraded 0.5, down 0) and each component's state and message, without the "
                 "details. Answers the last recorded check (the minutely job) when it is at most "
                 "HEALTH_STATUS_MAX_AGE_SECONDS (120 s) old, otherwise checks now; `source` says which "
                 "(recorded or live), `checked_at` and `age_seconds` when. Reads only. Takes no arguments."),
    handler=health.system_status, scope="monitoring:read", permission="monitoring.view_healthcheck",
    output=SystemStatusSerializer, tags=MONITORING,
))
