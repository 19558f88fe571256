"""Demo alerts: the default rules, evaluated once over the demo's data (whatever it makes fire, nothing
invented). Idempotent: rules are created once by name; evaluating again folds into the same alerts."""

from __future__ import annotations

from core.context import Actor

from .alerts.rules import evaluate_all
from .alerts.services import alert_rule_save
from .models.alerts import AlertRule

OPS = ["ops@backoffice.local"]
# (name, kind, params, route, window_minutes, severity_floor)
DEFAULT_RULES = [
    ("REST error rate above 5%", "error_rate", {"threshold": 0.05, "min_requests": 20}, "", 5, "low"),
    ("REST p95 latency above 1 s", "latency_p95", {"threshold_ms": 1000.0, "min_requests": 20}, "", 5, "low"),
    ("Payment success rate below its baseline", "payment_success_drop",
     {"days": 7, "z_threshold": 3.0, "min_payments": 20, "min_baseline_days": 3, "min_std": 0.02}, "", 60, "medium"),
    ("Provider decline rate jump", "provider_decline_jump",
     {"jump": 0.2, "min_attempts": 20, "baseline_hours": 24}, "", 60, "medium"),
    ("Outbox backlog", "outbox_backlog", {"max_pending": 500, "max_age_seconds": 600}, "", 5, "medium"),
    ("Audit chain verification failed", "audit_chain", {}, "", 5, "critical"),
    ("Disk space below 10%", "disk_space", {"path": "/", "min_free_percent": 10.0}, "", 5, "medium"),
    ("Webhook endpoint disabled", "source", {"source": "webhook_endpoint_disabled"}, "", 5, "medium"),
]


def seed(*, rng, stdout) -> None:
    actor = Actor.system("seed_demo")
    for name, kind, params, route, window, floor in DEFAULT_RULES:
        if not AlertRule.objects.filter(name=name).exists():
            alert_rule_save(actor=actor, rule=AlertRule(name=name, kind=kind, params=params, route=route,
                                                        window_minutes=window, recipients=OPS,
                                                        severity_floor=floor))
    result = evaluate_all()
    stdout.write(f"  alert rules: {result['rules']} evaluated, {result['created']} alerts raised, "
                 f"{result['folded']} folded, {result['resolved']} resolved, {result['failed']} failed")
