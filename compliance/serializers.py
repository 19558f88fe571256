from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from core import clock
from core.serializers import DateInField, UtcDateTimeField

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
