from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import clock
from core.audit import canonical_action
from core.serializers import (
    DATE_PATTERN,
    DATE_RANGE_MESSAGE,
    EARLIEST_DATE,
    LATEST_DATE,
    DateInField,
    DateTimeInField,
    ListQuerySerializer,
    UtcDateTimeField,
)

from .models import ComplianceExport


# --- PCI self-assessment ---------------------------------------------------------------------------
class PciCheckSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id of the check, e.g. staff_second_factor.")
    requirement = serializers.CharField(help_text="The PCI DSS v4.0.1 requirement it maps to, e.g. 8.4.2.")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=["passed", "failed", "not_applicable"])
    evidence = serializers.CharField(help_text="What the check saw: counts, names, setting values, sample sizes. "
                                               "Card numbers are named by place and last four digits only.")


class PciComplianceSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=100,
                                     help_text="Share of applicable checks (passed or failed) that passed, 0-100.")
    checks = PciCheckSerializer(many=True)
    assessed_at = UtcDateTimeField()


class PciAssessmentSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Assessment id, prefix pci_.")
    object = serializers.SerializerMethodField()
    score = serializers.IntegerField(min_value=0, max_value=100)
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    not_applicable = serializers.IntegerField()
    checks = PciCheckSerializer(many=True)
    actor_label = serializers.CharField(help_text="Who ran it.")
    created = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "pci_assessment"








# --- exports ---------------------------------------------------------------------------------------
class ComplianceExportCreateInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ComplianceExport.Kind.choices,
                                   help_text="audit_events, payments, refunds, ledger_entries or customers.")
    format = serializers.ChoiceField(choices=ComplianceExport.Format.choices, help_text="csv or jsonl (JSON Lines).")
    include_pii = serializers.BooleanField(
        required=False, default=False,
        help_text="Unmasked personal data (e-mail, name, IP); needs compliance.export_personal_data.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs["from"], attrs["to"]
        if last < first:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        days = (last - first).days + 1
        most = settings.COMPLIANCE_EXPORT_MAX_DAYS
        if days > most:
            raise serializers.ValidationError({"to": [f"The period is {days} days; one export covers at most {most}."]})
        return attrs


# `from` and `to` are Python keywords: declared here so the wire names are exactly those.
ComplianceExportCreateInput._declared_fields["from"] = DateInField(help_text="First UTC day, YYYY-MM-DD.")
ComplianceExportCreateInput._declared_fields["to"] = DateInField(help_text="Last UTC day (inclusive), YYYY-MM-DD.")


class ComplianceExportIdInput(serializers.Serializer[Any]):
    export_id = serializers.CharField(max_length=64, help_text="Export id, prefix exp_.")


class ComplianceExportProgressSerializer(serializers.Serializer[Any]):
    rows_written = serializers.IntegerField()
    rows_total = serializers.IntegerField(allow_null=True, help_text="Rows in the period, once counted.")
    percent = serializers.IntegerField()


class ComplianceExportErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(source="error_code")
    message = serializers.CharField(source="error_message")


class ComplianceExportSerializer(serializers.Serializer[Any]):
    """A compliance export: what it covers, its progress, and its download link once written."""

    id = serializers.CharField(help_text="Export id, prefix exp_.")
    object = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=ComplianceExport.Kind.choices)
    format = serializers.ChoiceField(choices=ComplianceExport.Format.choices)
    include_pii = serializers.BooleanField()
    status = serializers.ChoiceField(choices=ComplianceExport.Status.choices)
    progress = ComplianceExportProgressSerializer(source="*")
    size = serializers.IntegerField(allow_null=True, help_text="File size in bytes, once written.")
    sha256 = serializers.CharField(allow_null=True, help_text="SHA-256 of the file, once written.")
    error = ComplianceExportErrorSerializer(source="*", allow_null=True)
    requested_by = serializers.SerializerMethodField()
    download_url = serializers.CharField(allow_null=True,
                                         help_text="While succeeded and not expired: GET it with the same "
                                                   "credentials (and the export permission) for the file.")
    created = UtcDateTimeField()
    completed_at = UtcDateTimeField(allow_null=True)
    expires_at = UtcDateTimeField(allow_null=True)

    def get_object(self, obj: ComplianceExport) -> str:
        return "compliance_export"

    def get_requested_by(self, obj: ComplianceExport) -> dict[str, str]:
        return {"type": obj.actor_type, "id": obj.actor_id, "label": obj.actor_label}

    def to_representation(self, instance: ComplianceExport) -> dict[str, Any]:
        instance.download_url = download_url(instance)  # type: ignore[attr-defined]  # rendered only
        data = super().to_representation(instance)
        data["sha256"] = data["sha256"] or None
        if not instance.error_code:
            data["error"] = None
        return data


_fields = ComplianceExportSerializer._declared_fields
_fields["from"] = serializers.DateField(source="period_from", help_text="First UTC day.")
_fields["to"] = serializers.DateField(source="period_to", help_text="Last UTC day (inclusive).")


def download_url(export: ComplianceExport) -> str | None:
    if (export.status != ComplianceExport.Status.SUCCEEDED or export.expires_at is None
            or export.file_deleted_at is not None or clock.now() >= export.expires_at):
        return None
    return reverse("compliance-export-file", kwargs={"export_id": export.id})






# --- audit trail (report helper) --------------------------------------------------------------------


class AuditEventListInput(ListQuerySerializer):
    action = serializers.CharField(required=False, max_length=80,
                                   help_text="Only events of this action (docs/AUDIT.md); legacy names of it too.")
    actor_id = serializers.CharField(required=False, max_length=64,
                                     help_text="Only events by this actor (user id, key id, task name).")
    object_id = serializers.CharField(required=False, max_length=64, help_text="Only events about this object.")
    created_gte = DateTimeInField(required=False, help_text="Events at or after this time.")
    created_lte = DateTimeInField(required=False, help_text="Events at or before this time.")


class AuditEventActorSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="user, api_key, task or system.")
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like the Field attribute


class AuditEventObjectSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="app_label.model of the object, e.g. payments.refund.")
    id = serializers.CharField()


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "What the event recorded (amounts in minor units)."})
class _DetailsField(serializers.JSONField):
    pass


class AuditEventSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="aud_...")
    seq = serializers.IntegerField(allow_null=True, help_text="Position in the sealed chain (null until sealed).")
    occurred_at = serializers.CharField(help_text="When it happened (UTC, ...Z).")
    action = serializers.CharField(help_text="The action's current name (legacy names folded in).")
    outcome = serializers.CharField(help_text="success, failure or denied.")
    actor = AuditEventActorSerializer()
    object = AuditEventObjectSerializer()
    request_id = serializers.CharField(help_text="Request id of the call (empty for tasks).")
    ip_address = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    details = _DetailsField()
    hash = serializers.CharField(allow_null=True, help_text="SHA-256 chain hash (null until sealed).")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            "id": instance.pk, "seq": instance.seq, "occurred_at": clock.isoformat(instance.occurred_at),
            "action": canonical_action(instance.action), "outcome": instance.outcome,
            "actor": {"type": instance.actor_type, "id": instance.actor_id, "label": instance.actor_label},
            "object": {"type": instance.object_type, "id": instance.object_id},
            "request_id": instance.request_id, "ip_address": instance.ip_address,
            "user_agent": instance.user_agent, "details": instance.details, "hash": instance.hash,
        }


# --- audit report (report helper) -------------------------------------------------------------------

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN + r"[0-9]{2}-[0-9]{2}$",
                      "description": f"A UTC day, YYYY-MM-DD, from {EARLIEST_DATE} to {LATEST_DATE}."})
class UtcDayField(serializers.Field[dt.date, Any, Any, Any]):
    """A whole UTC day, YYYY-MM-DD, inside the sane date range."""

    default_error_messages = {"invalid": "Use a date as YYYY-MM-DD."}

    def to_internal_value(self, data: Any) -> dt.date:
        if not isinstance(data, str) or not _DAY.fullmatch(data):
            self.fail("invalid")
        try:
            day = dt.date.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise serializers.ValidationError(DATE_RANGE_MESSAGE)
        return day

    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value


class AuditReportInput(serializers.Serializer[Any]):
    # `from` is a Python keyword: the two fields are declared in get_fields.
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {"from": UtcDayField(help_text="First UTC day of the period (YYYY-MM-DD), on or before `to`."),
                "to": UtcDayField(help_text="Last UTC day of the period, inclusive (YYYY-MM-DD); the period is at "
                                            "most 366 days (AUDIT_REPORT_MAX_DAYS).")}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs["from"], attrs["to"]
        if start > end:
            raise serializers.ValidationError({"from": ["Must be on or before to."]})
        longest = settings.AUDIT_REPORT_MAX_DAYS
        if (end - start).days + 1 > longest:
            raise serializers.ValidationError({"to": [f"A report covers at most {longest} days."]})
        return attrs


class AuditReportPeriodSerializer(serializers.Serializer[Any]):
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {"from": serializers.CharField(help_text="First UTC day."),
                "to": serializers.CharField(help_text="Last UTC day (inclusive)."),
                "starts_at": serializers.CharField(help_text="Start of the period (UTC, ...Z)."),
                "ends_before": serializers.CharField(help_text="End of the period, exclusive (UTC, ...Z).")}


class AuditOutcomeCountsSerializer(serializers.Serializer[Any]):
    success = serializers.IntegerField()
    failure = serializers.IntegerField()
    denied = serializers.IntegerField()


class AuditActionCountSerializer(serializers.Serializer[Any]):
    action = serializers.CharField()
    count = serializers.IntegerField()
    outcomes = AuditOutcomeCountsSerializer()


class AuditActorCountSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like the Field attribute
    count = serializers.IntegerField()


class AuditMoneyTotalSerializer(serializers.Serializer[Any]):
    action = serializers.CharField()
    currency = serializers.CharField()
    count = serializers.IntegerField(help_text="Events of this action carrying an amount in this currency.")
    total = serializers.CharField(help_text="Sum of their amounts, major units, decimal string.")


class AuditReportExceptionSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField(help_text="large_refunds, manual_adjustments, approval_decisions, failed_logins, "
                                           "role_changes, off_hours_staff_activity or exports.")
    title = serializers.CharField()
    count = serializers.IntegerField()
    event_ids = serializers.ListField(child=serializers.CharField(),
                                      help_text="The newest events behind it (aud_), at most "
                                                "AUDIT_REPORT_EVENTS_PER_EXCEPTION.")
    more = serializers.IntegerField(help_text="Events behind it not listed in event_ids.")


class AuditReportSerializer(serializers.Serializer[Any]):
    period = AuditReportPeriodSerializer()
    generated_at = serializers.CharField()
    total_events = serializers.IntegerField()
    by_outcome = AuditOutcomeCountsSerializer()
    by_action = AuditActionCountSerializer(many=True)
    by_actor = AuditActorCountSerializer(many=True)
    money_totals = AuditMoneyTotalSerializer(many=True)
    exceptions = AuditReportExceptionSerializer(many=True)
