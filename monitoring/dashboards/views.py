"""The dashboard pages in the admin: `/admin/dashboards/<name>/` (HTML, or one chart's table as CSV) and the
overview on the admin home. Views only parse the period, check the permission and render a `Page`."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from core import clock
from core.money import CURRENCY_CHOICES

from . import registry
from .charts import Page
from .period import InvalidPeriod, Period, last_days, parse_period

_CHART_NAME = re.compile(r"[a-z0-9_]{1,60}")


def _context(request: HttpRequest, *, period: Period | None, page: Page | None, spec: registry.PageSpec | None,
             error: InvalidPeriod | None = None, options: dict[str, str] | None = None) -> dict[str, Any]:
    options = options or {}
    return {
        **admin.site.each_context(request),
        "title": spec.title if spec else "Dashboards",
        "spec": spec,
        "page": page,
        "charts": _charts(page, period, options),
        "period": period,
        "period_error": error,
        "dashboard_pages": registry.visible(request.user),
        "currencies": [code for code, _label in CURRENCY_CHOICES],
        "page_options": [{"name": o.name, "label": o.label, "choices": o.choices,
                          "value": options.get(o.name, request.GET.get(o.name, "")[:20])}
                         for o in (spec.options if spec else ())],
        "live_url": live_url(request),
        "params": {"from": request.GET.get("from", "")[:10], "to": request.GET.get("to", "")[:10],
                   "currency": request.GET.get("currency", "")[:3]},
    }


def _charts(page: Page | None, period: Period | None, options: dict[str, str]) -> list[dict[str, Any]]:
    return [{"chart": chart, "dom_id": f"chart-{chart.name}", "data_id": f"chart-{chart.name}-data",
             "payload": chart.payload(), "table": chart.table(),
             "csv_url": f"?{period.query(**options, format='csv', chart=chart.name)}" if period else ""}
            for chart in (page.charts if page else [])]


def dashboard(request: HttpRequest, name: str) -> HttpResponse:
    spec = registry.get(name)
    fmt = request.GET.get("format", "html")
    # The overview's HTML is the admin home; its JSON (live refresh) is served here like every page's.
    if spec is None or (name == registry.OVERVIEW and fmt != "json"):
        raise Http404("No such dashboard.")
    if spec.permission and not request.user.has_perm(spec.permission):
        raise PermissionDenied
    if fmt not in ("html", "csv", "json"):
        return HttpResponse("format must be html, csv or json.", status=400, content_type="text/plain")
    try:
        period = parse_period(request.GET)
        options = {o.name: o.parse(request.GET.get(o.name)) for o in spec.options}
    except InvalidPeriod as exc:
        if fmt == "json":
            return JsonResponse({"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
                                status=400)
        if fmt == "csv":
            return HttpResponse(exc.message, status=400, content_type="text/plain")
        return TemplateResponse(request, "admin/monitoring/dashboard.html",
                                _context(request, period=None, page=None, spec=spec, error=exc), status=400)
    page = spec.build(period, **options)
    if fmt == "json":
        return JsonResponse(live_payload(page))
    if fmt == "csv":
        chart_name = request.GET.get("chart", "")
        chart = page.chart(chart_name) if _CHART_NAME.fullmatch(chart_name) else None
        if chart is None:
            names = ", ".join(c.name for c in page.charts)
            return HttpResponse(f"chart must be one of: {names}.", status=404, content_type="text/plain")
        response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
        filename = f"{name}-{chart.name}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return TemplateResponse(request, "admin/monitoring/dashboard.html",
                            _context(request, period=period, page=page, spec=spec, options=options))


def live_url(request: HttpRequest) -> str:
    """The live feed's path when /ws/ is served (this server speaks ASGI, or DASHBOARD_LIVE_WEBSOCKET says a proxy
    routes it to Daphne); otherwise the page stays as rendered, with no socket that could only fail."""
    from django.conf import settings
    from django.core.handlers.asgi import ASGIRequest

    enabled = getattr(settings, "DASHBOARD_LIVE_WEBSOCKET", None)
    if enabled is None:
        enabled = isinstance(request, ASGIRequest)
    return "/ws/dashboard/" if enabled else ""


def live_payload(page: Page) -> dict[str, Any]:
    """What dashboards.js refreshes an open page from when the live feed says something changed."""
    return {"tiles": {tile.key: tile.live() for section in page.sections for tile in section.tiles},
            "charts": {chart.name: chart.payload() for chart in page.charts},
            "generated_at": clock.isoformat(clock.now())}


def overview_context(request: HttpRequest) -> dict[str, Any]:
    """What the admin home shows above the app list: the overview page over the last 30 days."""
    spec = registry.get(registry.OVERVIEW)
    if spec is None or (spec.permission and not request.user.has_perm(spec.permission)):
        return {"dashboard_pages": registry.visible(request.user)}
    period = last_days(30)
    page = spec.build(period)
    # Only what the home adds: AdminSite.index builds the admin's own context (each_context) itself.
    return {"overview": page, "charts": _charts(page, period, {}), "dashboard_pages": registry.visible(request.user),
            "live_url": live_url(request)}
