"""Inputs and outputs of the metrics operations."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import DateTimeInField, UtcDateTimeField

from .errors_metrics import MetricPeriodInvalid
from .models import PerformanceMetric
from .performance import REPORT_MAX_DAYS, RESOLUTIONS
from .services_metrics import (
    NAME_MAX,
    NAME_RE,
    TAG_KEY_RE,
    TAG_VALUE_MAX,
    TAGS_MAX,
    VALUE_LIMIT,
    check_name,
    check_tags,
    check_value,
)

# What the services accept, said in the schema (the services' own checks answer with their codes).
_RECORDABLE = rf"^(?!(http|mcp)\.){NAME_RE.pattern.lstrip('^')}"
_TAG_FILTER = rf"{TAG_KEY_RE.pattern.rstrip('$')}:.+$"


@extend_schema_field({"type": "string", "pattern": _RECORDABLE, "minLength": 1, "maxLength": NAME_MAX})
class _RecordableNameField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": NAME_RE.pattern, "minLength": 1, "maxLength": NAME_MAX})
class _MetricNameField(serializers.CharField):
    pass


@extend_schema_field({"type": "number", "minimum": -VALUE_LIMIT, "maximum": VALUE_LIMIT})
class _ValueField(serializers.FloatField):
    pass


# Keys: in the help text (OpenAPI 3.0 has no propertyNames).
@extend_schema_field({"type": "object", "maxProperties": TAGS_MAX,
                      "additionalProperties": {"type": "string", "minLength": 1, "maxLength": TAG_VALUE_MAX,
                                               "pattern": r"^[^\x00-\x1f\x7f-\x9f]+$"}})
class _TagsField(serializers.DictField):
    pass


@extend_schema_field({"type": "string", "pattern": _TAG_FILTER, "maxLength": 250})
class _TagFilterField(serializers.CharField):
    pass


class RecordMetricInput(serializers.Serializer[Any]):
    name = _RecordableNameField(max_length=200, trim_whitespace=False,
                                 help_text="Dot-separated lowercase, e.g. checkout.render_ms (not http.* / mcp.*).")
    value = _ValueField(help_text="A finite number, |value| <= 1e15.")
    unit = serializers.ChoiceField(choices=PerformanceMetric.Unit.choices, default=PerformanceMetric.Unit.NONE)
    tags = _TagsField(child=serializers.JSONField(), required=False,
                                 help_text="At most 10 string values, keys [a-z][a-z0-9_]{0,39}.")
    recorded_at = DateTimeInField(required=False, help_text="When measured (default now): the last 7 days.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_name(attrs["name"])
        check_value(self.initial_data.get("value"))  # the JSON value: FloatField would take true or "1"
        check_tags(attrs.get("tags"))
        return attrs


class PerformanceMetricSerializer(serializers.ModelSerializer[PerformanceMetric]):
    recorded_at = UtcDateTimeField()
    created = UtcDateTimeField()

    class Meta:
        model = PerformanceMetric
        fields = ["id", "name", "value", "unit", "tags", "recorded_at", "created", "actor_type", "actor_id",
                  "actor_label"]


class _PeriodInput(serializers.Serializer[Any]):
    # `from` is a Python keyword: the two fields are declared in get_fields.
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = DateTimeInField(help_text="Start of the period (ISO 8601, inclusive).")
        fields["to"] = DateTimeInField(help_text="End of the period (ISO 8601, exclusive).")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["from"] >= attrs["to"]:
            raise MetricPeriodInvalid(details={"from": self.initial_data.get("from"),
                                               "to": self.initial_data.get("to")})
        return attrs


class GetMetricsInput(_PeriodInput):
    name = _MetricNameField(max_length=200, trim_whitespace=False,
                                 help_text="A custom name, or a built-in series (http.p95_ms, mcp.requests, ...).")
    resolution = serializers.ChoiceField(choices=list(RESOLUTIONS), default="1m")
    tag = _TagFilterField(max_length=250, required=False, trim_whitespace=False,
                                help_text="Only series with this tag, key:value (route:POST /api/v1/transfers).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_name(attrs["name"], recording=False)
        return super().validate(attrs)


class ReportInput(_PeriodInput):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if (attrs["to"] - attrs["from"]).total_seconds() > REPORT_MAX_DAYS * 86400:
            raise MetricPeriodInvalid(f"A report covers at most {REPORT_MAX_DAYS} days.",
                                      details={"max_days": REPORT_MAX_DAYS})
        return attrs


class PointSerializer(serializers.Serializer[Any]):
    t = UtcDateTimeField(help_text="Start of the interval (UTC).")
    count = serializers.IntegerField(help_text="Measurements (custom) or requests (built-in) in the interval.")
    value = serializers.FloatField(allow_null=True, help_text="The series' value: the mean for a custom name.")
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    sum = serializers.FloatField(allow_null=True)


class SeriesSerializer(serializers.Serializer[Any]):
    tags = serializers.DictField(child=serializers.CharField())
    points = PointSerializer(many=True)


class MetricSeriesSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    unit = serializers.CharField()
    resolution = serializers.CharField()
    series = SeriesSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = UtcDateTimeField()
        fields["to"] = UtcDateTimeField()
        return fields


_LINE_NUMBERS = ("error_rate", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "previous_error_rate",
                 "previous_p95_ms", "count_change_pct", "p95_change_pct")


class ReportLineSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text='A route pattern ("POST /api/v1/transfers") or a tool name.')
    count = serializers.IntegerField()
    client_errors = serializers.IntegerField()
    max_ms = serializers.FloatField()
    previous_count = serializers.IntegerField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # `errors` is declared here: a class attribute of that name would shadow Serializer.errors.
        fields = super().get_fields()
        fields["errors"] = serializers.IntegerField()
        for name in _LINE_NUMBERS:
            fields[name] = serializers.FloatField(allow_null=True)
        return fields


class ReportTotalSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    client_errors = serializers.IntegerField()
    previous_count = serializers.IntegerField()
    throughput_per_minute = serializers.FloatField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["errors"] = serializers.IntegerField()
        for name in ("error_rate", "p50_ms", "p95_ms", "p99_ms", "previous_error_rate", "previous_p95_ms",
                     "count_change_pct", "p95_change_pct"):
            fields[name] = serializers.FloatField(allow_null=True)
        return fields


class PerformanceReportSerializer(serializers.Serializer[Any]):
    routes_total = ReportTotalSerializer()
    tools_total = ReportTotalSerializer()
    slowest_routes = ReportLineSerializer(many=True)
    slowest_tools = ReportLineSerializer(many=True)
    routes_by_error_rate = ReportLineSerializer(many=True)
    tools_by_error_rate = ReportLineSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        for name in ("from", "to", "previous_from", "previous_to"):
            fields[name] = UtcDateTimeField()
        return fields
