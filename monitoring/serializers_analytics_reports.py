"""Input and output of generate_custom_report. The schema lists the allowed metric and dimension names; the report
validator (monitoring.analytics.reports) refuses an unknown one with its own code and the allowed list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import DateInField

from .analytics.reports import DIMENSIONS, FILTERS, MAX_DIMENSIONS, MAX_FILTER_VALUES, MAX_LIMIT, METRICS


# The schema lists the allowed names; the validator still answers an unknown one with its own code and the list.
@extend_schema_field({"type": "string", "enum": list(METRICS)})
class MetricName(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": list(DIMENSIONS)})
class DimensionName(serializers.CharField):
    pass


class ReportInput(serializers.Serializer[Any]):
    metrics = serializers.ListField(
        child=MetricName(max_length=40),
        max_length=len(METRICS) * 2,
        required=False,
        help_text="Metrics to compute: " + ", ".join(METRICS) + ".",
    )
    dimensions = serializers.ListField(
        child=DimensionName(max_length=40),
        max_length=MAX_DIMENSIONS * 2,
        required=False,
        help_text=f"At most {MAX_DIMENSIONS} of: " + ", ".join(DIMENSIONS) + ".",
    )
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(max_length=40), max_length=MAX_FILTER_VALUES),
        required=False,
        help_text="{name: [values]} with name one of " + ", ".join(FILTERS) + ".",
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_LIMIT, required=False, help_text=f"Rows returned, 1-{MAX_LIMIT} (default 100)."
    )
    saved_report_id = serializers.CharField(
        max_length=64, required=False, help_text="Run a saved report (srpt_); from/to, when given, replace its period."
    )

    # `from` is a Python keyword: the two fields are declared in get_fields.
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = DateInField(required=False, help_text="First UTC day (YYYY-MM-DD).")
        fields["to"] = DateInField(required=False, help_text="Last UTC day, inclusive (at most 366 days).")
        return fields


class ReportColumnSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named label: DRF's Field has the attribute
    kind = serializers.CharField(
        help_text="text, date, int, money (decimal string, see the row's currency) or rate (a decimal fraction)."
    )


class ReportOutputSerializer(serializers.Serializer[Any]):
    definition = serializers.JSONField(help_text="The definition that ran, in its normal form.")
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.DictField(), help_text="One object per row, keyed by column.")
    truncated = serializers.BooleanField(help_text="True when more rows than `limit` matched.")
