"""What the analytics operations' inputs and outputs share: the period as the admin pages take it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import CurrencyField, DateInField

from .dashboards.period import parse_period

RATE = "Decimal fraction as a string (0.2500 is 25 %); null when there is nothing to divide by."


class AnalyticsPeriodInput(serializers.Serializer[Any]):
    """`from`/`to` (UTC days, `to` inclusive; default the last 30 days) and `currency`, as on the admin pages."""

    currency = CurrencyField(required=False, help_text="Only payments in this currency (ISO 4217, any case).")

    # `from` is a Python keyword: both dates are declared here.
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = DateInField(required=False,
                                     help_text="First day (YYYY-MM-DD, UTC); default 29 days before to.")
        fields["to"] = DateInField(required=False, help_text="Last day, inclusive (YYYY-MM-DD, UTC); default today.")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["period"] = parse_period(
            {
                "from": attrs.pop("from").isoformat() if "from" in attrs else "",
                "to": attrs.pop("to").isoformat() if "to" in attrs else "",
                "currency": attrs.pop("currency", "") or "",
            }
        )
        return attrs
