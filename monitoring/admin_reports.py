"""Saved custom reports in the admin and the report builder (`/admin/monitoring/savedreport/builder/`).

The builder is a POST form (CSRF): "Run" shows the table (and a chart when the only dimension besides currency is
a time bucket), "Download CSV" answers the same table as a file, "Save" stores the definition through
`saved_report_save` (validated and audited). GET with `?report=srpt_...` runs a saved report. The numbers are
monitoring.analytics.reports', the same as generate_custom_report's."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.context import Actor
from core.errors import DomainError
from core.ids import has_prefix

from .analytics import reports
from .dashboards.charts import Chart
from .dashboards.period import today
from .models import SavedReport
from .services_reports import saved_report_save

RUN_PERMISSION = "payments.view_payment"
_FILTER_CHOICES: dict[str, list[str]] = {
    "currency": reports.FILTERS["currency"][1] or [],
    "method": reports.FILTERS["method"][1] or [],
    "status": reports.FILTERS["status"][1] or [],
}


class SavedReportForm(forms.ModelForm):
    class Meta:
        model = SavedReport
        fields = ("name", "definition")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "definition" in cleaned:
            try:
                cleaned["definition"] = reports.validate_definition(cleaned["definition"]).as_dict()
            except DomainError as exc:
                self.add_error("definition", f"{exc.message} ({exc.code})")
        return cleaned


def _choices(values: list[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


class BuilderForm(forms.Form):
    metrics = forms.MultipleChoiceField(
        choices=[(k, m.label) for k, m in reports.METRICS.items()], widget=forms.CheckboxSelectMultiple
    )
    dimensions = forms.MultipleChoiceField(
        choices=[(k, v[0]) for k, v in reports.DIMENSIONS.items()], widget=forms.CheckboxSelectMultiple, required=False
    )
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    currency = forms.MultipleChoiceField(choices=_choices(_FILTER_CHOICES["currency"]), required=False)
    method = forms.MultipleChoiceField(choices=_choices(_FILTER_CHOICES["method"]), required=False)
    status = forms.MultipleChoiceField(choices=_choices(_FILTER_CHOICES["status"]), required=False)
    provider = forms.CharField(required=False, max_length=200, help_text="Comma-separated provider names.")
    country = forms.CharField(required=False, max_length=200, help_text="Comma-separated card countries (US, FR).")
    limit = forms.IntegerField(min_value=1, max_value=reports.MAX_LIMIT, initial=reports.DEFAULT_LIMIT)
    name = forms.CharField(required=False, max_length=100, help_text="Needed to save.")
    report = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    def definition(self) -> dict[str, Any]:
        data = self.cleaned_data
        filters: dict[str, list[str]] = {}
        for name in ("currency", "method", "status"):
            if data.get(name):
                filters[name] = list(data[name])
        for name in ("provider", "country"):
            values = [v.strip() for v in (data.get(name) or "").split(",") if v.strip()]
            if values:
                filters[name] = values
        return {
            "metrics": list(data["metrics"]),
            "dimensions": list(data.get("dimensions") or []),
            "filters": filters,
            "from": data["date_from"].isoformat(),
            "to": data["date_to"].isoformat(),
            "limit": data.get("limit") or reports.DEFAULT_LIMIT,
        }


def _initial(report: SavedReport | None) -> dict[str, Any]:
    if report is None:
        end = today()
        return {
            "metrics": ["payment_count", "gross_volume"],
            "dimensions": ["day"],
            "date_from": end - dt.timedelta(days=29),
            "date_to": end,
            "limit": reports.DEFAULT_LIMIT,
        }
    d = report.definition
    filters = d.get("filters") or {}
    return {
        "metrics": d.get("metrics"),
        "dimensions": d.get("dimensions"),
        "date_from": d.get("from"),
        "date_to": d.get("to"),
        "limit": d.get("limit"),
        "currency": filters.get("currency", []),
        "method": filters.get("method", []),
        "status": filters.get("status", []),
        "provider": ", ".join(filters.get("provider", [])),
        "country": ", ".join(filters.get("country", [])),
        "name": report.name,
        "report": report.pk,
    }


def report_chart(report: reports.Report) -> Chart:
    """The table of a report; plotted as a line when its only dimension besides currency is a time bucket."""
    grouping = report.definition.grouping
    times = [d for d in grouping if d in reports.TIME_DIMENSIONS]
    others = [d for d in grouping if d not in reports.TIME_DIMENSIONS]
    plotted = len(times) == 1 and others in ([], ["currency"])
    return Chart(
        "report",
        "Report",
        "line" if plotted else "table",
        report.columns,
        report.rows,
        x=times[0] if plotted else None,
        series=list(report.definition.metrics) if plotted else [],
        group="currency" if plotted and others else None,
        empty_text="No payments or refunds match in this period.",
    )


@admin.register(SavedReport)
class SavedReportAdmin(admin.ModelAdmin):
    """Saved through `saved_report_save` (validated, audited); run from the builder."""

    form = SavedReportForm
    list_display = ("name", "owner", "updated", "run_link")
    search_fields = ("name",)
    readonly_fields = ("owner", "created", "updated")
    change_list_template = "admin/monitoring/savedreport_changelist.html"

    def get_urls(self):
        return [
            path("builder/", self.admin_site.admin_view(self.builder_view), name="monitoring_savedreport_builder"),
            *super().get_urls(),
        ]

    @admin.display(description="Run")
    def run_link(self, obj: SavedReport) -> str:
        url = reverse("admin:monitoring_savedreport_builder")
        return format_html('<a href="{}?{}">Run</a>', url, urlencode({"report": obj.pk}))

    def save_model(self, request, obj, form, change):
        saved_report_save(
            actor=Actor.for_user(request.user), name=obj.name, definition=obj.definition, report=obj, owner=request.user
        )

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the builder ----------------------------------------------------------------------------------------
    def builder_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied
        saved = None
        report_id = request.POST.get("report") if request.method == "POST" else request.GET.get("report")
        if report_id:
            saved = SavedReport.objects.filter(pk=report_id).first() if has_prefix(report_id, "srpt") else None
            if saved is None:
                return HttpResponse("No such saved report.", status=404, content_type="text/plain")
        result, error, status = None, None, 200
        if request.method == "POST":
            form = BuilderForm(request.POST)
            action = request.POST.get("action", "run")
            if action not in ("run", "csv", "save"):
                return HttpResponse("action must be run, csv or save.", status=400, content_type="text/plain")
            if form.is_valid():
                try:
                    if action == "save":
                        return self._save(request, form, saved)
                    result = reports.report_generate(form.definition())
                except DomainError as exc:
                    error, status = exc, exc.status
                if result is not None and action == "csv":
                    response = HttpResponse(report_chart(result).csv(), content_type="text/csv; charset=utf-8")
                    response["Content-Disposition"] = 'attachment; filename="report.csv"'
                    return response
            else:
                status = 400
        else:
            form = BuilderForm(initial=_initial(saved))
            if saved is not None:
                try:
                    result = reports.report_generate(saved.definition)
                except DomainError as exc:
                    error, status = exc, exc.status
        chart = report_chart(result) if result is not None else None
        charts = (
            []
            if chart is None
            else [
                {
                    "chart": chart,
                    "dom_id": "chart-report",
                    "data_id": "chart-report-data",
                    "payload": chart.payload(),
                    "table": chart.table(),
                    "csv_url": "",
                }
            ]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": saved.name if saved else "Report builder",
            "form": form,
            "saved": saved,
            "charts": charts,
            "result": result,
            "report_error": error,
            "opts": self.model._meta,
            "can_save": self._may_save(request, saved),
        }
        return TemplateResponse(request, "admin/monitoring/report_builder.html", context, status=status)

    def _may_save(self, request: HttpRequest, saved: SavedReport | None) -> bool:
        return self.has_change_permission(request, saved) if saved else self.has_add_permission(request)

    def _save(self, request: HttpRequest, form: BuilderForm, saved: SavedReport | None) -> HttpResponse:
        if not self._may_save(request, saved):
            raise PermissionDenied
        report = saved_report_save(
            actor=Actor.for_user(request.user),
            name=form.cleaned_data.get("name") or "",
            definition=form.definition(),
            report=saved,
            owner=request.user,
        )
        messages.success(request, f"Saved report “{report.name}”.")
        builder = reverse("admin:monitoring_savedreport_builder")
        return HttpResponseRedirect(f"{builder}?{urlencode({'report': report.pk})}")
