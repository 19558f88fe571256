from core.rest import api_path, operation_view

MetricsView = operation_view("PerformanceMetricsView", get="get_performance_metrics",
                             post="record_performance_metric")
PerformanceReportView = operation_view("PerformanceReportView", get="generate_performance_report")

urlpatterns = [
    *api_path("metrics", MetricsView, "performance-metrics"),
    *api_path("reports/performance", PerformanceReportView, "performance-report"),
]
