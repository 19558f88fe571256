"""Inputs and the canonical object of the error log's operations."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from core.serializers import DateTimeInField, ListQuerySerializer, UtcDateTimeField

from .models import ErrorGroup

LEVEL_CHOICES = [c for c, _ in ErrorGroup.Level.choices]
DETAILS_MAX_BYTES = 8192


class ErrorGroupSerializer(serializers.Serializer):
    """An error group: what happened, how often, since when, and the last occurrence (redacted)."""

    id = serializers.CharField(help_text="Error group id, prefix errg_.")
    object = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=ErrorGroup.Kind.choices)
    level = serializers.ChoiceField(choices=ErrorGroup.Level.choices, help_text="The last occurrence's level.")
    title = serializers.CharField()
    culprit = serializers.CharField(help_text='Where it happened: "payments.services in capture", or the source.')
    source = serializers.CharField(  # type: ignore[assignment]  # a field named `source`: the stubs see Field.source
        help_text="Logger name or the reporter's source.")
    exception_type = serializers.CharField()
    count = serializers.IntegerField(help_text="Occurrences since it was first seen (resolving does not reset it).")
    first_seen = UtcDateTimeField()
    last_seen = UtcDateTimeField()
    resolved = serializers.BooleanField(help_text="Marked resolved; a new occurrence reopens it.")
    resolved_at = UtcDateTimeField(allow_null=True)
    resolved_by = serializers.CharField()
    reopened_at = UtcDateTimeField(allow_null=True, help_text="When it last happened again after being resolved.")
    sample = serializers.SerializerMethodField(help_text=(
        "The last occurrence: request_id, route, message, traceback and details, with card numbers, secrets and "
        "e-mail addresses redacted."))

    def get_object(self, obj: ErrorGroup) -> str:
        return "error_group"

    def get_sample(self, obj: ErrorGroup) -> dict[str, Any]:
        return {"request_id": obj.sample_request_id, "route": obj.sample_route, "message": obj.sample_message,
                "traceback": obj.sample_traceback, "details": obj.sample_details}


class ErrorGroupDetailSerializer(ErrorGroupSerializer):
    """One group with its recent occurrences (the newest 20, newest first)."""

    recent_occurrences = serializers.SerializerMethodField()

    def get_recent_occurrences(self, obj: ErrorGroup) -> list[dict[str, Any]]:
        return [{"occurred_at": UtcDateTimeField().to_representation(o.occurred_at), "level": o.level,
                 "request_id": o.request_id, "route": o.route, "message": o.message, "details": o.details}
                for o in obj.occurrences.order_by("-occurred_at", "-id")]


class ErrorLogInput(serializers.Serializer):
    message = serializers.CharField(max_length=4000, help_text="What went wrong (ids and numbers may vary: they "
                                    "are folded when grouping).")
    level = serializers.ChoiceField(choices=LEVEL_CHOICES, required=False, default="error")
    source = serializers.CharField(  # type: ignore[assignment]  # a field named `source`: the stubs see Field.source
        max_length=200, required=False, allow_blank=True, default="",
                                   help_text="The logger or component reporting it (part of the grouping).")
    details = serializers.DictField(required=False, default=dict, help_text=(
        "Tags and context (at most 8 KiB as JSON); secrets (by key name), e-mails and card numbers are redacted."))
    exception_type = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                           help_text="e.g. TimeoutError; with a Python `stack` the group is the "
                                           "type and the innermost frames of your own code.")
    stack = serializers.CharField(max_length=32000, required=False, allow_blank=True, default="",
                                  help_text="The stack trace as text.")

    def validate_details(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > DETAILS_MAX_BYTES:
            raise serializers.ValidationError(f"At most {DETAILS_MAX_BYTES} bytes as JSON.")
        return value


class ErrorListInput(ListQuerySerializer):
    resolved = serializers.BooleanField(required=False, allow_null=True, default=None,
                                        help_text="true: resolved groups only; false: open ones only.")
    level = serializers.ChoiceField(choices=LEVEL_CHOICES, required=False)
    since = DateTimeInField(required=False, help_text="Groups seen at or after this time (ISO 8601).")


class ErrorIdInput(serializers.Serializer):
    error_id = serializers.CharField(max_length=64, help_text="Error group id (errg_...).")
