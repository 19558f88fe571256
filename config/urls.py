from csp.decorators import csp_update
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from core.views import healthz, readyz
from monitoring.views_metrics import metrics_view

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("wallets.urls")),
    path("", include("payments.urls")),
    path("", include("payments.risk.urls")),
    path("", include("approvals.urls")),
    path("", include("subscriptions.urls")),
    path("", include("compliance.urls")),
    path("", include("core.urls")),
    path("", include("webhooks.urls")),
    path("", include("monitoring.urls_alerts")),
    path("", include("monitoring.urls_requestlog")),
    path("", include("monitoring.urls_analytics_revenue")),
    path("", include("monitoring.urls_analytics_customers")),
    path("", include("monitoring.urls_analytics_reports")),
    path("", include("monitoring.urls_analytics_overview")),
]

# A request refused before any view (a disallowed Host): the API's error shape under /api/, JSON-RPC on /mcp.
handler400 = "config.errors.bad_request"


class FaviconView(RedirectView):
    # Browsers ask for /favicon.ico on every page; the file is a (hashed, cached) static file.
    def get_redirect_url(self, *args, **kwargs):
        return static("favicon.ico")


urlpatterns = [
    # The product is its back-office: the bare host leads to the admin's login.
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="root"),
    path("favicon.ico", FaviconView.as_view(permanent=False), name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/v1/", include("monitoring.urls_health")),
    path("api/v1/", include("monitoring.urls_errors")),
    path("api/v1/", include("monitoring.urls_metrics")),
    path("webhooks/", include("payments.views")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # ReDoc styles itself with styled-components (<style> elements made at run time) and searches
    # in a blob: worker; this one page allows exactly that, scripts stay 'self' only.
    path("api/redoc/", csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html")), name="redoc"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("mcp_gateway.urls")),
]
