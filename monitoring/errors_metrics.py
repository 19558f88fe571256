"""Stable error codes of the metrics part (custom metrics, series queries, /metrics access)."""

from core.errors import DomainError


class MetricNameInvalid(DomainError):
    code = "invalid_metric_name"
    status = 400
    default_message = ("A metric name is 1-100 characters: lowercase letters, digits and underscores in "
                       "dot-separated parts, starting with a letter (e.g. checkout.render_ms).")


class MetricNameReserved(DomainError):
    code = "metric_name_reserved"
    status = 400
    default_message = "Names starting with http. or mcp. are the built-in request series: they cannot be recorded."


class MetricNameUnknown(DomainError):
    code = "unknown_metric"
    status = 400
    default_message = "No such built-in series."


class MetricValueInvalid(DomainError):
    code = "invalid_metric_value"
    status = 400
    default_message = "A metric value is a finite number between -1e15 and 1e15."


class MetricTagsInvalid(DomainError):
    code = "invalid_metric_tags"
    status = 400
    default_message = ("Tags are at most 10 pairs; keys are 1-40 characters of lowercase letters, digits and "
                       "underscores starting with a letter; values are strings of 1-200 printable characters.")


class MetricTimeInvalid(DomainError):
    code = "invalid_metric_time"
    status = 400
    default_message = "recorded_at must be within the last 7 days and at most 5 minutes ahead."


class MetricPeriodInvalid(DomainError):
    code = "invalid_period"
    status = 400
    default_message = "from must be before to."


class TooManyPoints(DomainError):
    code = "too_many_points"
    status = 400
    default_message = "The period holds too many points at this resolution: choose a coarser one or a shorter period."


class MetricsTokenRequired(DomainError):
    code = "metrics_token_required"
    status = 401
    default_message = "/metrics needs METRICS_TOKEN as a bearer token (or an address in METRICS_ALLOWED_IPS)."


class MetricsForbidden(DomainError):
    code = "metrics_forbidden"
    status = 403
    default_message = "This token or address may not read /metrics."
