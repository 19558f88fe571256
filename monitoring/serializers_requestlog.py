"""Inputs and answers of the request log's operations (list_request_logs, get_request_log)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import DateTimeInField, ListQuerySerializer, UtcDateTimeField

from .models import RequestLog

_STATUS = re.compile(r"^([1-5])([0-9]{2}|xx)$")


@extend_schema_field({"type": "string", "pattern": r"^[1-5]([0-9]{2}|xx)$",
                      "description": "One HTTP status (404) or a class (4xx)."})
class StatusFilterField(serializers.CharField):
    """"404" -> (404, 404); "4xx" -> (400, 499)."""

    def to_internal_value(self, data: Any) -> tuple[int, int]:  # type: ignore[override]  # a range, not text
        text = super().to_internal_value(data)
        match = _STATUS.match(text)
        if not match:
            raise serializers.ValidationError("Give one HTTP status (404) or a class (2xx, 4xx, 5xx).")
        if match.group(2) == "xx":
            low = int(match.group(1)) * 100
            return low, low + 99
        return int(text), int(text)


class RequestLogListInput(ListQuerySerializer):
    api_key_id = serializers.RegexField(r"^key_[A-Za-z0-9]{1,36}$", required=False,
                                        error_messages={"invalid": "An API key id (key_...)."},
                                        help_text="Only calls made with this API key (key_...).")
    status = StatusFilterField(required=False, max_length=3, help_text="One HTTP status (404) or a class (4xx).")
    route = serializers.CharField(required=False, max_length=200,
                                  help_text='Only this REST route pattern, e.g. "POST /api/v1/transfers".')
    tool = serializers.CharField(required=False, max_length=128, help_text="Only calls of this MCP tool.")
    kind = serializers.ChoiceField(choices=RequestLog.Kind.choices, required=False,
                                   help_text="rest (REST requests) or mcp (MCP tool calls).")
    method = serializers.ChoiceField(choices=["GET", "POST", "PUT", "PATCH", "DELETE", "tools/call"],
                                     required=False, help_text="HTTP method, or tools/call for MCP.")
    error_code = serializers.RegexField(r"^[a-z0-9_]{1,64}$", required=False,
                                        help_text="Only answers with this error code.")
    request_id = serializers.CharField(required=False, max_length=140, help_text="The request's X-Request-ID.")
    created_gte = DateTimeInField(required=False, help_text="Requests at or after this time.")
    created_lte = DateTimeInField(required=False, help_text="Requests at or before this time.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs.get("created_gte"), attrs.get("created_lte")
        if first is not None and last is not None and first > last:
            raise serializers.ValidationError({"created_lte": ["Must not be before created_gte."]})
        return attrs


class RequestLogIdInput(serializers.Serializer[Any]):
    request_log_id = serializers.CharField(max_length=40, help_text="rlog_...")


class RequestLogApiKeySerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="api_key_id", help_text="key_...")
    name = serializers.CharField(source="api_key_name")


class RequestLogUserSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="user_id")
    username = serializers.CharField()


@extend_schema_field({"description": "Redacted JSON (secrets, card numbers, personal data); a string when "
                                     "truncated.", "nullable": True})
class _BodyField(serializers.JSONField):
    pass


class RequestLogSummarySerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="rlog_...")
    created = UtcDateTimeField(help_text="When the request arrived (UTC).")
    kind = serializers.CharField(help_text="rest or mcp.")
    api_key = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()
    method = serializers.CharField(help_text="HTTP method, or tools/call.")
    route = serializers.CharField(allow_null=True, help_text="REST route pattern (null for MCP).")
    tool = serializers.CharField(allow_null=True, help_text="MCP tool (null for REST).")
    path = serializers.CharField()
    status = serializers.IntegerField(help_text="HTTP status (MCP: the status REST would answer).")
    duration_ms = serializers.FloatField(help_text="Latency in milliseconds.")
    request_id = serializers.CharField()
    idempotency_key = serializers.CharField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)

    @extend_schema_field(RequestLogApiKeySerializer(allow_null=True))
    def get_api_key(self, obj: RequestLog) -> dict[str, Any] | None:
        return RequestLogApiKeySerializer(obj).data if obj.api_key_id else None

    @extend_schema_field(RequestLogUserSerializer(allow_null=True))
    def get_user(self, obj: RequestLog) -> dict[str, Any] | None:
        return RequestLogUserSerializer(obj).data if obj.user_id else None

    def to_representation(self, instance: RequestLog) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        for name in ("route", "tool", "idempotency_key", "error_code"):
            data[name] = data[name] or None
        return data


class RequestLogSerializer(RequestLogSummarySerializer):
    query = _BodyField(help_text="Query parameters, redacted.")
    request_body = _BodyField(allow_null=True)
    response_body = _BodyField(allow_null=True)
    request_truncated = serializers.BooleanField()
    response_truncated = serializers.BooleanField()
