from core.rest import api_path, operation_view

DashboardMetricsView = operation_view("DashboardMetricsView", get="get_dashboard_metrics")
PaymentMetricsView = operation_view("PaymentMetricsView", get="get_payment_metrics")

urlpatterns = [
    *api_path("analytics/dashboard", DashboardMetricsView, "analytics-dashboard"),
    *api_path("analytics/payments", PaymentMetricsView, "analytics-payments"),
]
