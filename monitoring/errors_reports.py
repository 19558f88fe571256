"""Stable error codes of custom reports (monitoring.analytics.reports)."""

from core.errors import DomainError


class ReportMetricUnknown(DomainError):
    code = "unknown_report_metric"
    status = 400
    default_message = "A report metric is not one of the allowed metrics."


class ReportDimensionUnknown(DomainError):
    code = "unknown_report_dimension"
    status = 400
    default_message = "A report dimension is not one of the allowed dimensions."


class ReportFilterUnknown(DomainError):
    code = "unknown_report_filter"
    status = 400
    default_message = "A report filter is not one of the allowed filters."


class ReportDefinitionInvalid(DomainError):
    code = "invalid_report_definition"
    status = 400
    default_message = "The report definition is not valid."
