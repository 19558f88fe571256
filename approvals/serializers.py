from rest_framework import serializers

from core.money import format_amount
from core.serializers import UtcDateTimeField

from .models import ApprovalRequest
from .selectors import effective_status


class ApprovalStatusInput(serializers.Serializer):
    approval_id = serializers.CharField(help_text="Approval request id (apr_...), as returned with pending_approval.")


class ApprovalDecisionInput(serializers.Serializer):
    approval_id = serializers.CharField(help_text="Approval request id (apr_...).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                 help_text="Why, for the audit trail (optional).")


class ApprovalSerializer(serializers.Serializer):
    """An approval request and, once approved and run, the outcome of the held call."""

    id = serializers.CharField(help_text="Approval request id, prefix apr_.")
    object = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(
        help_text="pending_approval, approved (running), rejected, expired or executed.")
    operation = serializers.CharField(help_text="The tool / operation that was held.")
    amount = serializers.SerializerMethodField(help_text="Decimal string, or null when the call gave no amount.")
    currency = serializers.CharField(help_text="ISO 4217 code, upper case; blank when the call gave no amount.")
    arguments = serializers.DictField(help_text="The arguments the call runs with once approved.")
    requested_at = UtcDateTimeField()
    expires_at = UtcDateTimeField()
    decided_at = UtcDateTimeField(allow_null=True)
    decided_by = serializers.SerializerMethodField(help_text="Username of the staff member who decided.")
    decision_note = serializers.CharField()
    result_status = serializers.IntegerField(allow_null=True,
                                             help_text="HTTP status of the executed call (REST semantics).")
    result = serializers.SerializerMethodField(help_text="The executed call's result object, if it succeeded.")
    error = serializers.SerializerMethodField(help_text="The executed call's error object, if it failed.")

    def get_object(self, obj) -> str:
        return "approval"

    def get_status(self, obj: ApprovalRequest) -> str:
        return effective_status(obj)

    def get_amount(self, obj: ApprovalRequest) -> str | None:
        return format_amount(obj.amount, obj.currency) if obj.amount is not None else None

    def get_decided_by(self, obj: ApprovalRequest) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by else None

    def get_result(self, obj: ApprovalRequest) -> dict | None:
        ok = obj.result_status is not None and obj.result_status < 400
        return obj.result_body if ok else None

    def get_error(self, obj: ApprovalRequest) -> dict | None:
        failed = obj.result_status is not None and obj.result_status >= 400
        return (obj.result_body or {}).get("error") if failed else None
