"""Every admin model form that saves a settings row saves through its service and is audited, as the
staff member with the client (issue 15, audit coverage). The walk lists every ModelAdmin whose form
a superuser may save; each is either in FORMS (posted here) or in RECEIVERS (models whose every save
and delete the signal receivers record: tests/compliance/test_audit_access_changes.py)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from core.admin_add import OperationAddMixin
from core.admin_base import ReadOnlyAdmin
from core.models import AuditEvent
from wallets.models import KycLimit

pytestmark = pytest.mark.django_db

FORMS = {
    "payments.FeeSchedule": ({"provider": "sandbox", "currency": "USD", "percent_bps": 290, "fixed_amount": "0.30",
                              "active": "on"}, "fee_schedule.created"),
    "payments.RoutingRule": ({"name": "walk", "priority": 1, "currency": "", "method": "",
                              "allowed_providers": '["sandbox"]', "disabled_providers": "[]", "enabled": "on"},
                             "routing_rule.created"),
    "payments.RiskThresholds": ({"review_at": 60, "block_at": 90}, "risk_thresholds.updated"),
    "payments.RiskRule": ({"name": "walk", "kind": "condition", "action": "review", "condition": "amount > 100000",
                           "field": "", "values": "[]", "enabled": "on"}, "risk_rule.created"),
    "subscriptions.DunningSettings": ({"retry_days": "[1, 3]", "final_action": "canceled", "notify_customers": "on",
                                       "note": "walk"}, "dunning_settings.saved"),
    "wallets.ExchangeRate": ({"base_currency": "USD", "quote_currency": "EUR", "rate": "0.9234", "source": "ECB",
                              "valid_from_0": "2026-11-01", "valid_from_1": "00:00:00"}, "exchange_rate.set"),
    # Every gated status and currency is seeded: the walk adds back a row removed first (PREPARE).
    "wallets.KycLimit": ({"kyc_status": "pending", "currency": "USD", "daily_outgoing_limit": "500.00",
                          "daily_withdrawal_limit": "0"}, "kyc_limit.created"),
    "approvals.ApprovalThreshold": ({"api_key": "", "operation": "refund_payment", "currency": "USD",
                                     "amount": "500.00"}, "mcp.threshold.saved"),
    "monitoring.AlertRule": ({"name": "walk", "kind": "disk_space", "enabled": "on", "params": "{}", "route": "",
                              "window_minutes": 5, "recipients": '["ops@example.com"]', "severity_floor": "low",
                              "severity_override": ""}, "alert_rule.created"),
    "monitoring.SavedReport": ({"name": "walk", "definition": '{"metrics": ["payment_count"], "from": "2026-11-01", '
                                                              '"to": "2026-11-30"}'}, "saved_report.created"),
    # A custom add view through api_key_create (audited: api_key.created); keys are never edited.
    "accounts.ApiKey": None,
}
PREPARE = {
    "wallets.KycLimit": lambda: KycLimit.objects.filter(kyc_status="pending", currency="USD").delete(),
}
RECEIVERS = {"accounts.User", "auth.Group", "accounts.LoginThrottle", "accounts.StaffTOTPDevice",
             "accounts.BackupCodeDevice",
             "django_celery_beat.PeriodicTask", "django_celery_beat.IntervalSchedule",
             "django_celery_beat.CrontabSchedule", "django_celery_beat.SolarSchedule",
             "django_celery_beat.ClockedSchedule"}


def saved_forms(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    found = set()
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, ReadOnlyAdmin | OperationAddMixin):
            continue  # nothing to save, or the add form is an operation (walked with the operations)
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            found.add(model._meta.label)
    return found


def test_every_settings_form_save_is_audited(staff_client):
    client = staff_client("admin")
    client.user.is_superuser = True
    client.user.save()
    assert saved_forms(client.user) == set(FORMS) | RECEIVERS, "a saved admin form without an entry"
    for label, entry in FORMS.items():
        if entry is None:
            continue
        data, action = entry
        if label in PREPARE:
            PREPARE[label]()
        app, model = label.lower().split(".")
        before = set(AuditEvent.objects.values_list("pk", flat=True))
        response = client.post(f"/admin/{app}/{model}/add/", data, REMOTE_ADDR="198.51.100.9",
                               HTTP_USER_AGENT="Walk/1.0")
        assert response.status_code == 302, (label, response.content.decode()[:1500])
        new = list(AuditEvent.objects.exclude(pk__in=before))
        assert [e.action for e in new] == [action], label
        assert (new[0].actor_type, new[0].actor_id, new[0].ip_address, new[0].user_agent) == (
            "user", str(client.user.pk), "198.51.100.9", "Walk/1.0"), label
